/**
 * The deterministic ledger the hostile corpus is aimed at: keys from fixed
 * seeds, fixed times, a fixed node clock. Built the same way on every run, so
 * requests saved as files (replays, stale prevs, other parties' keys) mean
 * the same thing every time.
 */
import { createHash } from 'node:crypto';
import {
  type CustodyEvent,
  eventHash,
  keyPairFrom,
  Ledger,
  type SignedEvent,
  signEvent,
} from '@custody/ledger';

export const ORIGIN = 'hostile.custody.test/log';
export const NOW = new Date('2026-06-01T12:00:00Z');
export const T = '2026-06-01T11:00:00Z';

export const keyOf = (name: string) =>
  keyPairFrom(name, createHash('sha256').update(`custody-hostile:${name}`).digest());

export const LICENCE = {
  exporter: 'EXPORTCO',
  consignee: 'KE-POLICE',
  endUser: 'Kenya National Police Service',
  euc: {
    number: 'EUC-1',
    issuer: 'KE MoI',
    issued: '2026-01-10',
    expires: '2027-12-31',
    documentHash: 'ab'.repeat(32),
  },
  items: [{ model: 'G36', category: 'assault rifle', quantity: 10 }],
  route: ['NL'],
  validFrom: '2026-01-01',
  validUntil: '2027-12-31',
  endUse: 'law enforcement',
  conditions: { deliveryVerification: true, noReexport: true },
};

export const PARTIES: [string, string, string][] = [
  ['ACME', 'manufacturer', 'DE'],
  ['EXPORTCO', 'exporter', 'DE'],
  ['DE-BAFA', 'licensing-authority', 'DE'],
  ['KE-NCC', 'licensing-authority', 'KE'],
  ['DE-CUSTOMS', 'customs', 'DE'],
  ['KE-POLICE', 'consignee', 'KE'],
  ['XX-REVOKED', 'inspector', 'KE'],
];

let counter = 0;
/** A signed event with a fixed time and a deterministic id. */
export function signed(
  signer: string,
  type: CustodyEvent['type'],
  subject: object,
  body: object,
  prev: string | null = null,
  extra: Partial<CustodyEvent> = {},
): SignedEvent {
  return signEvent(
    {
      type,
      id: `hostile-${String(++counter).padStart(4, '0')}`,
      time: T,
      prev,
      subject,
      body,
      ...extra,
    } as never,
    keyOf(signer),
  );
}

/** Creates the ledger: genesis, parties, a licence, a dispatch, a report, and one revoked key. Returns chain heads. */
export async function buildLedger(dir: string): Promise<{ ledger: Ledger; heads: Record<string, string> }> {
  counter = 0;
  const ledger = await Ledger.create(dir, {
    origin: ORIGIN,
    secretKey: keyOf(ORIGIN).secretKey,
    clock: () => NOW,
  });
  const heads: Record<string, string> = {};
  const send = async (e: SignedEvent, chain?: string) => {
    await ledger.submitOne(e);
    if (chain !== undefined) heads[chain] = eventHash(e.event);
  };
  await send(
    signed(
      'REGISTRAR',
      'ledger.genesis',
      {},
      {
        origin: ORIGIN,
        registrar: { id: 'REGISTRAR', name: 'registrar', country: 'CH', keys: [keyOf('REGISTRAR').vkey] },
        policy: { deliveryDays: 30, verificationDays: 90, maxBackdateDays: 7, maxFutureSeconds: 300 },
      },
    ),
  );
  for (const [id, role, country] of PARTIES) {
    await send(
      signed(
        'REGISTRAR',
        'party.register',
        { party: id },
        { name: id, roles: [role], country, keys: [keyOf(id).vkey] },
      ),
      `party:${id}`,
    );
  }
  await send(
    signed(
      'REGISTRAR',
      'party.revoke-key',
      { party: 'XX-REVOKED' },
      { key: keyOf('XX-REVOKED').keyId, reason: 'lost' },
      heads['party:XX-REVOKED'],
    ),
    'party:XX-REVOKED',
  );
  await send(
    signed(
      'ACME',
      'item.manufacture',
      { serials: ['SN-1', 'SN-2'] },
      {
        make: 'Acme',
        model: 'G36',
        category: 'assault rifle',
        calibre: '5.56x45mm',
        marking: { manufacturer: 'ACME', country: 'DE', year: 2026 },
        site: 'Oberndorf',
        holder: 'EXPORTCO',
      },
    ),
  );
  await send(signed('DE-BAFA', 'licence.issue', { licence: 'L-1' }, LICENCE), 'licence:L-1');
  await send(
    signed(
      'EXPORTCO',
      'shipment.dispatch',
      { shipment: 'SHP-1' },
      { licence: 'L-1', serials: ['SN-1', 'SN-2'], from: 'DEHAM', to: 'KEMBA', seals: [] },
    ),
    'shipment:SHP-1',
  );
  const report = signed(
    'ACME',
    'item.report',
    { serials: ['SN-1'] },
    { kind: 'lost', reference: 'case 1' },
    null,
    { id: 'hostile-report-1' },
  );
  await send(report);
  heads['report:SN-1'] = eventHash(report.event);
  return { ledger, heads };
}

/**
 * A realistic mix of the v1 vocabulary, pre-signed: transfers of 10 items
 * (manufacture, licence, dispatch, two transits, delivery, verification),
 * each event 300–600 bytes, with the prev chains a real client keeps.
 */
import { createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import {
  type CustodyEvent,
  canonicalBytes,
  eventHash,
  fromHex,
  generateKeyPair,
  type JsonObject,
  type KeyPair,
  keyPairFrom,
  Ledger,
  type Outcome,
  type SignedEvent,
  signedMessage,
  toBase64,
  toHex,
} from '@custody/ledger';

/** Signs as signEvent does, with OpenSSL for speed (Ed25519 signatures are deterministic: same bytes). */
export class FastSigner {
  private readonly key: KeyObject;
  constructor(readonly pair: KeyPair) {
    this.key = createPrivateKey({
      key: {
        kty: 'OKP',
        crv: 'Ed25519',
        d: Buffer.from(pair.secretKey).toString('base64url'),
        x: Buffer.from(pair.publicKey).toString('base64url'),
      },
      format: 'jwk',
    });
  }
  sign(fields: Omit<CustodyEvent, 'v' | 'signer' | 'key'>): SignedEvent {
    const event = { ...fields, v: 1, signer: this.pair.name, key: this.pair.keyId } as CustodyEvent;
    return { event, sig: toBase64(cryptoSign(null, signedMessage(event), this.key)) };
  }
}

export const PARTIES = [
  ['ACME', 'manufacturer', 'DE'],
  ['EXPORTCO', 'exporter', 'DE'],
  ['DE-BAFA', 'licensing-authority', 'DE'],
  ['KE-NCC', 'licensing-authority', 'KE'],
  ['DE-CUSTOMS', 'customs', 'DE'],
  ['NL-CUSTOMS', 'customs', 'NL'],
  ['KE-POLICE', 'consignee', 'KE'],
] as const;

/** What it takes to go on feeding a saved ledger: every key, and how far the counters got. */
export interface WorkloadState {
  readonly secretKeys: Record<string, string>;
  readonly counter: number;
  readonly transfers: number;
}

export class Workload {
  readonly signers = new Map<string, FastSigner>();
  private readonly heads = new Map<string, string>();
  private counter = 0;
  transfers = 0;

  constructor(
    readonly registrar: FastSigner,
    pairs: (id: string) => KeyPair = generateKeyPair,
  ) {
    for (const [id] of PARTIES) this.signers.set(id, new FastSigner(pairs(id)));
  }

  save(): WorkloadState {
    const secretKeys: Record<string, string> = { REGISTRAR: toHex(this.registrar.pair.secretKey) };
    for (const [id, s] of this.signers) secretKeys[id] = toHex(s.pair.secretKey);
    return { secretKeys, counter: this.counter, transfers: this.transfers };
  }

  /** Goes on where `save` left off: new transfers, new event ids, the same parties. */
  static restore(state: WorkloadState): Workload {
    const pair = (id: string) => keyPairFrom(id, fromHex(state.secretKeys[id] ?? '', 32));
    const work = new Workload(new FastSigner(pair('REGISTRAR')), pair);
    work.counter = state.counter;
    work.transfers = state.transfers;
    return work;
  }

  private next(
    signer: string,
    type: CustodyEvent['type'],
    subject: object,
    body: object,
    chain?: string,
  ): SignedEvent {
    const s = this.signers.get(signer) ?? this.registrar;
    const prev = chain === undefined ? null : (this.heads.get(chain) ?? null);
    const signed = s.sign({
      type,
      id: `b${(++this.counter).toString(36).padStart(10, '0')}`,
      time: new Date().toISOString(),
      prev,
      subject,
      body,
    } as never);
    if (chain !== undefined) this.heads.set(chain, eventHash(signed.event));
    return signed;
  }

  registrations(): SignedEvent[] {
    return PARTIES.map(([id, role, country]) =>
      this.next(
        'REGISTRAR',
        'party.register',
        { party: id },
        { name: `${id} office`, roles: [role], country, keys: [this.signers.get(id)?.pair.vkey] },
        `party:${id}`,
      ),
    );
  }

  /** The seven events of one transfer of ten items; returns them and the serials. */
  transfer(): { events: SignedEvent[]; serials: string[] } {
    const t = ++this.transfers;
    const serials = Array.from({ length: 10 }, (_, i) => `SN-${t.toString(36)}-${i}`);
    const licence = `DE-L-${t}`;
    const shipment = `SHP-${t}`;
    const events = [
      this.next(
        'ACME',
        'item.manufacture',
        { serials },
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
      this.next(
        'DE-BAFA',
        'licence.issue',
        { licence },
        {
          exporter: 'EXPORTCO',
          consignee: 'KE-POLICE',
          endUser: 'Kenya National Police Service',
          euc: {
            number: `EUC-${t}`,
            issuer: 'KE Ministry of Interior',
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
        },
        `licence:${licence}`,
      ),
      this.next(
        'EXPORTCO',
        'shipment.dispatch',
        { shipment },
        { licence, serials, from: 'DEHAM', to: 'KEMBA', seals: ['SEAL-1'] },
        `shipment:${shipment}`,
      ),
      this.next(
        'DE-CUSTOMS',
        'shipment.transit',
        { shipment },
        {
          location: 'DEHAM',
          country: 'DE',
          direction: 'exit',
          sealsIntact: true,
          inspected: false,
          outcome: 'released',
        },
        `shipment:${shipment}`,
      ),
      this.next(
        'NL-CUSTOMS',
        'shipment.transit',
        { shipment },
        {
          location: 'NLRTM',
          country: 'NL',
          direction: 'transshipment',
          sealsIntact: true,
          inspected: true,
          serialsSighted: serials.slice(0, 2),
          outcome: 'released',
        },
        `shipment:${shipment}`,
      ),
      this.next(
        'KE-POLICE',
        'shipment.deliver',
        { shipment },
        { location: 'KEMBA', serialsReceived: serials },
        `shipment:${shipment}`,
      ),
      this.next(
        'KE-NCC',
        'delivery.verify',
        { shipment },
        { serialsConfirmed: serials, method: 'on-site', endUseConfirmed: true },
        `shipment:${shipment}`,
      ),
    ];
    // A transfer's chains end with it; keeping their heads would grow without bound.
    this.heads.delete(`licence:${licence}`);
    this.heads.delete(`shipment:${shipment}`);
    return { events, serials };
  }
}

/** A new ledger in `dir` with its genesis and the workload's parties registered, and the workload to feed it. */
export async function benchLedger(
  dir: string,
  logPair: KeyPair,
): Promise<{ ledger: Ledger; work: Workload }> {
  const registrarPair = generateKeyPair('REGISTRAR');
  const registrar = new FastSigner(registrarPair);
  const work = new Workload(registrar);
  const ledger = await Ledger.create(dir, { origin: logPair.name, secretKey: logPair.secretKey });
  const genesis = registrar.sign({
    type: 'ledger.genesis',
    id: 'genesis-00001',
    time: new Date().toISOString(),
    prev: null,
    subject: {},
    body: {
      origin: logPair.name,
      registrar: { id: 'REGISTRAR', name: 'bench', country: 'CH', keys: [registrarPair.vkey] },
      policy: { deliveryDays: 30, verificationDays: 90, maxBackdateDays: 7, maxFutureSeconds: 300 },
    },
  } as never);
  await ledger.submitOne(genesis);
  for (const r of work.registrations()) await ledger.submitOne(r);
  return { ledger, work };
}

/** Events of whole transfers, about `size` of them, and one serial of each transfer. */
export function groupOf(work: Workload, size: number): { events: SignedEvent[]; serials: string[] } {
  const events: SignedEvent[] = [];
  const serials: string[] = [];
  while (events.length < size) {
    const t = work.transfer();
    events.push(...t.events);
    serials.push(t.serials[0] as string);
  }
  return { events, serials };
}

/**
 * Feeds `groups` to the ledger as a node does: each group pre-checked (in
 * parallel, signatures off the event loop) and sequenced while the one
 * before it is written. Returns the seconds it took; throws on any refusal.
 */
export async function ingestGroups(ledger: Ledger, groups: readonly SignedEvent[][]): Promise<number> {
  const precheck = (group: readonly SignedEvent[]) =>
    Promise.all(group.map((e) => ledger.precheck(e))).then((pre) =>
      pre.map((p, i) => ('submission' in p ? p.submission : group[i])),
    );
  const refusal = (outcomes: readonly Outcome[]) => {
    const refused = outcomes.find((o) => !o.ok);
    if (refused !== undefined && !refused.ok) throw refused.error;
  };
  const start = performance.now();
  let next = groups.length > 0 ? precheck(groups[0] as SignedEvent[]) : undefined;
  let writing: Promise<Outcome[]> | undefined;
  for (let g = 0; next !== undefined; g++) {
    const ready = await next;
    next = g + 1 < groups.length ? precheck(groups[g + 1] as SignedEvent[]) : undefined;
    const { outcomes } = await ledger.sequence(ready);
    // Two groups at most: one being written, the next sequenced behind it.
    if (writing !== undefined) refusal(await writing);
    writing = outcomes;
  }
  if (writing !== undefined) refusal(await writing);
  return (performance.now() - start) / 1000;
}

/** Groups of whole transfers, generated and signed, with their raw bytes (canonical event and signature text) and one serial per transfer. */
export interface Chunk {
  readonly groups: SignedEvent[][];
  readonly events: number;
  readonly rawBytes: number;
  readonly serials: string[];
}

/** `count` groups of ~1,000 events (see groupOf). */
export function chunkOf(work: Workload, count: number): Chunk {
  const made = Array.from({ length: count }, () => groupOf(work, 994));
  let events = 0;
  let rawBytes = 0;
  for (const g of made) {
    for (const e of g.events)
      rawBytes += canonicalBytes(e.event as unknown as JsonObject).length + e.sig.length;
    events += g.events.length;
  }
  return { groups: made.map((g) => g.events), events, rawBytes, serials: made.flatMap((g) => g.serials) };
}

/**
 * Generates `count` groups of ~1,000 events, then ingests them (see
 * ingestGroups), so that signing is not timed. Returns how many events, their
 * raw bytes, one serial per transfer, and the seconds the ingest took.
 */
export async function ingestChunk(
  ledger: Ledger,
  work: Workload,
  count: number,
): Promise<{ events: number; rawBytes: number; serials: string[]; seconds: number }> {
  const { groups, events, rawBytes, serials } = chunkOf(work, count);
  const seconds = await ingestGroups(ledger, groups);
  return { events, rawBytes, serials, seconds };
}

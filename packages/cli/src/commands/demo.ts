/**
 * custody demo: a whole story on an embedded node. It creates a ledger (in a
 * temporary folder, or --data), starts a node on 127.0.0.1, registers the
 * parties, runs a clean transfer and a diverted one through the same code the
 * other commands use, then verifies one item of each offline.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BundleVerification,
  generateKeyPair,
  type KeyPair,
  Ledger,
  type Role,
  readKeyFile,
  verifyBundle,
} from '@custody/ledger';
import type { Command } from 'commander';
import { NodeClient } from '../client.js';
import { contextOf } from '../context.js';
import { CliError } from '../exit.js';
import { printVerification, verdictText } from '../render.js';
import { sendEvent } from '../send.js';
import { initLedger, layout } from './setup.js';

const ORIGIN = 'demo.custody.example/log';

const PARTIES: [string, Role[], string, string][] = [
  ['ACME', ['manufacturer'], 'DE', 'Acme Arms GmbH'],
  ['EXPORTCO', ['exporter'], 'DE', 'Acme Export GmbH'],
  ['DE-BAFA', ['licensing-authority'], 'DE', 'Federal Office for Economic Affairs and Export Control'],
  ['KE-NCC', ['licensing-authority'], 'KE', 'Kenya National Commission on Small Arms'],
  ['DE-CUSTOMS', ['customs'], 'DE', 'German Customs'],
  ['NL-CUSTOMS', ['customs'], 'NL', 'Dutch Customs'],
  ['PL-CUSTOMS', ['customs'], 'PL', 'Polish Customs'],
  ['KE-POLICE', ['consignee'], 'KE', 'Kenya National Police Service'],
  ['KE-BROKER', ['consignee'], 'KE', 'Nairobi General Trading Ltd'],
];

/** The licence both transfers travel under (each with its own id and EUC number). */
const LICENCE = {
  exporter: 'EXPORTCO',
  consignee: 'KE-POLICE',
  endUser: 'Kenya National Police Service',
  euc: {
    issuer: 'KE Ministry of Interior',
    issued: '2026-01-10',
    expires: '2027-12-31',
    documentHash: 'ab'.repeat(32),
  },
  items: [{ model: 'G36', category: 'assault rifle', quantity: 100 }],
  route: ['NL'],
  endUse: 'law enforcement',
  conditions: { deliveryVerification: true, noReexport: true },
};

const serials = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(4, '0')}`);

export function demoCommand(program: Command): void {
  program
    .command('demo')
    .description('run a clean transfer and a diverted one on an embedded node, and verify both')
    .option('--data <dir>', 'keep the ledger in this (new or empty) folder instead of a temporary one')
    .addHelpText(
      'after',
      '\nExample:\n  custody demo\n  custody demo --data ./demo-ledger   # keep it, then: custody serve --data ./demo-ledger\n',
    )
    .action(async (o: { data?: string }, command: Command) => {
      const ctx = contextOf(command);
      const { out } = ctx;
      const step = (text: string) => out.line(`\n${out.c.cyan('▶')} ${out.c.bold(text)}`);
      const dir = o.data ?? (await mkdtemp(join(tmpdir(), 'custody-demo-')));
      if (o.data !== undefined && (await readdir(o.data).catch(() => [])).length > 0) {
        throw new CliError(`${o.data} is not empty; give a new or empty folder for the demo ledger`);
      }
      try {
        step(`Creating ledger ${ORIGIN} on LevelDB in ${dir}`);
        const { logVkey } = await initLedger({
          data: dir,
          origin: ORIGIN,
          registrar: 'REGISTRAR',
          country: 'CH',
          deliveryDays: 30,
          verificationDays: 90,
          maxBackdateDays: 7,
        });
        out.line(`  log key: ${logVkey}`);
        const nodeKey = await readKeyFile(layout(dir).nodeKey);
        const ledger = await Ledger.open(layout(dir).ledger, { secretKey: nodeKey.secretKey });
        const { createNode } = await import('@custody/node');
        const app = await createNode({ ledger, rateLimit: false });
        const url = await app.listen({ host: '127.0.0.1', port: 0 });
        out.line(`  node listening on ${url}`);
        let results: BundleVerification[];
        try {
          results = await story(
            new NodeClient(url),
            await readKeyFile(layout(dir).registrarKey),
            logVkey,
            step,
            (t) => out.line(`  ${t}`),
          );
        } finally {
          await app.close();
        }
        step('Verifying one item of each transfer offline, with only the log key');
        for (const v of results) {
          out.line();
          printVerification(out, v);
        }
        out.result({ logKey: logVkey, data: o.data ?? null, verifications: results });
        step(
          `Verdicts: clean transfer ${verdictText(out, results[0]?.verdict ?? 'invalid')}, diverted transfer ${verdictText(out, results[1]?.verdict ?? 'invalid')}`,
        );
        if (o.data !== undefined) out.line(`  The ledger is kept in ${dir}: custody serve --data ${dir}`);
      } finally {
        if (o.data === undefined) await rm(dir, { recursive: true, force: true });
      }
    });
}

async function story(
  client: NodeClient,
  registrar: KeyPair,
  logKey: string,
  step: (t: string) => void,
  say: (t: string) => void,
): Promise<BundleVerification[]> {
  const keys = new Map<string, KeyPair>();
  const send: typeof sendEvent = (c, key, type, subject, body, options = {}) =>
    sendEvent(c, key, type, subject, body, { logKey, ...options });
  const as = (id: string) => keys.get(id) as KeyPair;

  step(`Registering ${PARTIES.length} parties (the registrar signs each registration)`);
  for (const [id, roles, country, name] of PARTIES) {
    const key = generateKeyPair(id);
    keys.set(id, key);
    await send(
      client,
      registrar,
      'party.register',
      { party: id },
      { name, roles, country, keys: [key.vkey] },
    );
    say(`${id.padEnd(11)} ${roles.join(', ')} (${country})`);
  }

  const transfer = async (
    label: string,
    prefix: string,
    licence: string,
    shipment: string,
    via: [string, string, string],
    consignee: string,
  ) => {
    step(label);
    const items = serials(prefix, 20);
    await send(
      client,
      as('ACME'),
      'item.manufacture',
      { serials: items },
      {
        make: 'Acme',
        model: 'G36',
        category: 'assault rifle',
        calibre: '5.56x45mm',
        marking: { manufacturer: 'ACME', country: 'DE', year: 2026 },
        site: 'Oberndorf',
        holder: 'EXPORTCO',
      },
    );
    say(`ACME registered ${items.length} rifles ${items[0]}…${items.at(-1)}`);
    const year = new Date().getUTCFullYear();
    await send(
      client,
      as('DE-BAFA'),
      'licence.issue',
      { licence },
      {
        ...LICENCE,
        euc: { ...LICENCE.euc, number: `EUC-${licence}` },
        validFrom: `${year - 1}-01-01`,
        validUntil: `${year + 1}-12-31`,
      },
    );
    say(`DE-BAFA issued licence ${licence}: EXPORTCO → KE-POLICE, 100 × G36, route via NL`);
    await send(
      client,
      as('EXPORTCO'),
      'shipment.dispatch',
      { shipment },
      { licence, serials: items, from: 'DEHAM', to: 'KEMBA', seals: ['SEAL-1'] },
    );
    say(`EXPORTCO dispatched ${shipment} from Hamburg to Mombasa`);
    await send(
      client,
      as('DE-CUSTOMS'),
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
    );
    const [customs, country, location] = via;
    await send(
      client,
      as(customs),
      'shipment.transit',
      { shipment },
      {
        location,
        country,
        direction: 'transshipment',
        sealsIntact: true,
        inspected: true,
        serialsSighted: items.slice(0, 3),
        outcome: 'released',
      },
    );
    say(`${customs} recorded it in ${location} (${country})`);
    await send(
      client,
      as(consignee),
      'shipment.deliver',
      { shipment },
      { location: 'KEMBA', serialsReceived: items },
    );
    say(`${consignee} signed for the delivery in Mombasa`);
    await send(
      client,
      as('KE-NCC'),
      'delivery.verify',
      { shipment },
      { serialsConfirmed: items, method: 'on-site', endUseConfirmed: consignee === 'KE-POLICE' },
    );
    say('KE-NCC verified the delivery on site');
    return items;
  };

  const clean = await transfer(
    'A clean transfer: Hamburg → Rotterdam → Mombasa',
    'SN-A',
    'DE-L-2026-0001',
    'SHP-A',
    ['NL-CUSTOMS', 'NL', 'NLRTM'],
    'KE-POLICE',
  );
  const diverted = await transfer(
    'A diverted transfer: through Gdańsk, received by a broker',
    'SN-B',
    'DE-L-2026-0002',
    'SHP-B',
    ['PL-CUSTOMS', 'PL', 'PLGDN'],
    'KE-BROKER',
  );

  const now = new Date();
  return Promise.all(
    [clean[6], diverted[2]].map(async (serial) =>
      verifyBundle(await client.text(`/v1/items/${serial}/bundle`), logKey, { now }),
    ),
  );
}

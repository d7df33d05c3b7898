/**
 * Commands that record custody events. Each builds the event from its
 * options, signs it locally with --key, sends only the signed event, and
 * checks the receipt against the log key before reporting it.
 */

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { EventOfType, EventType, Role } from '@custody/ledger';
import { type Command, Option } from 'commander';
import { type Context, contextOf } from '../context.js';
import { CliError } from '../exit.js';
import { type Sent, sendEvent } from '../send.js';
import { chunkSerials, readSerials } from '../serials.js';

const collect = (value: string, previous: string[]) => [...previous, value];
const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function report(ctx: Context, sent: readonly Sent[]): void {
  const { out } = ctx;
  out.result(sent.length === 1 ? sent[0] : sent);
  for (const s of sent) {
    out.line(
      `${out.c.green('✓')} ${s.event.type} recorded as entry ${out.c.bold(String(s.receipt.index))} (event ${s.receipt.eventHash.slice(0, 16)}…)`,
    );
  }
  const last = sent.at(-1);
  if (last !== undefined)
    out.line(
      `  receipt verified: included in the log's signed tree of ${last.receipt.checkpoint.split('\n')[1]} entries`,
    );
}

async function record<T extends EventType>(
  command: Command,
  type: T,
  subject: EventOfType<T>['subject'],
  body: EventOfType<T>['body'],
): Promise<void> {
  const ctx = contextOf(command);
  const key = await ctx.key();
  report(ctx, [await sendEvent(ctx.client(), key, type, subject, body, { command })]);
}

const EXAMPLE = (lines: string) => `\nExample:\n${lines}\n`;

export function writeCommands(program: Command): void {
  const party = program.command('party').description('register parties and revoke their keys (registrar)');
  party
    .command('register')
    .description('register a party with its roles, country and public keys')
    .requiredOption('--id <id>', 'party id, e.g. NL-CUSTOMS')
    .requiredOption('--name <name>', 'full name')
    .requiredOption(
      '--roles <roles>',
      'comma-separated: manufacturer, exporter, licensing-authority, customs, carrier, consignee, inspector, registrar',
    )
    .requiredOption('--country <cc>', 'ISO 3166 alpha-2 country')
    .requiredOption('--vkey <vkey>', 'a public key from custody keygen (repeatable)', collect, [])
    .addHelpText(
      'after',
      EXAMPLE(
        '  custody party register --key registrar.key --id NL-CUSTOMS --name "Douane" --roles customs --country NL --vkey NL-CUSTOMS+1a2b3c4d+AX…',
      ),
    )
    .action(
      (o: { id: string; name: string; roles: string; country: string; vkey: string[] }, command: Command) =>
        record(
          command,
          'party.register',
          { party: o.id },
          { name: o.name, roles: list(o.roles) as Role[], country: o.country, keys: o.vkey },
        ),
    );
  party
    .command('revoke-key')
    .description('revoke a party’s key (the registrar, or the party itself)')
    .requiredOption('--party <id>', 'whose key')
    .requiredOption('--key-id <hex>', 'the key ID (8 hex digits, as in the vkey)')
    .requiredOption('--reason <text>', 'why')
    .option('--compromised-since <time>', 'RFC 3339 time from which signatures by it are suspect')
    .addHelpText(
      'after',
      EXAMPLE(
        '  custody party revoke-key --key registrar.key --party NL-CUSTOMS --key-id 1a2b3c4d --reason "laptop stolen" --compromised-since 2026-11-01T00:00:00Z',
      ),
    )
    .action(
      (o: { party: string; keyId: string; reason: string; compromisedSince?: string }, command: Command) =>
        record(
          command,
          'party.revoke-key',
          { party: o.party },
          {
            key: o.keyId,
            reason: o.reason,
            ...(o.compromisedSince === undefined ? {} : { compromisedSince: o.compromisedSince }),
          },
        ),
    );

  program
    .command('manufacture')
    .description('register manufactured serial numbers (any number: split into events that fit the log)')
    .option('--serials <list>', 'comma-separated serial numbers')
    .option('--csv <file>', 'a CSV file whose first column holds the serial numbers')
    .requiredOption('--make <make>', 'maker’s brand')
    .requiredOption('--model <model>', 'model')
    .requiredOption('--category <category>', 'e.g. "assault rifle", "MANPADS"')
    .requiredOption('--calibre <calibre>', 'e.g. 5.56x45mm')
    .requiredOption('--site <site>', 'where it was made')
    .option('--marking-manufacturer <name>', 'manufacturer as marked on the item (default: you)')
    .option('--marking-country <cc>', 'country as marked on the item')
    .option('--year <year>', 'year as marked on the item', (value: string) => {
      if (!/^\d{4}$/.test(value)) throw new CliError(`--year must be a year, e.g. 2026, not "${value}"`);
      return Number(value);
    })
    .option('--holder <party>', 'who holds the items once made, if not you')
    .addHelpText(
      'after',
      EXAMPLE(
        '  custody manufacture --key acme.key --csv serials.csv --make Acme --model G36 --category "assault rifle" --calibre 5.56x45mm --site Oberndorf --marking-country DE --year 2026',
      ),
    )
    .action(
      async (
        o: {
          serials?: string;
          csv?: string;
          make: string;
          model: string;
          category: string;
          calibre: string;
          site: string;
          markingManufacturer?: string;
          markingCountry?: string;
          year?: number;
          holder?: string;
        },
        command: Command,
      ) => {
        const ctx = contextOf(command);
        const key = await ctx.key();
        const serials = await readSerials(o);
        const client = ctx.client();
        const logKey = (await client.text('/v1/log-key')).trim();
        const marking = {
          manufacturer: o.markingManufacturer ?? key.name,
          ...(o.markingCountry === undefined ? {} : { country: o.markingCountry }),
          ...(o.year === undefined ? {} : { year: o.year }),
        };
        const chunks = chunkSerials(serials);
        const bar = ctx.out.progress(serials.length, 'registering serials');
        const sent: Sent[] = [];
        for (const chunk of chunks) {
          sent.push(
            await sendEvent(
              client,
              key,
              'item.manufacture',
              { serials: chunk },
              {
                make: o.make,
                model: o.model,
                category: o.category,
                calibre: o.calibre,
                marking,
                site: o.site,
                ...(o.holder === undefined ? {} : { holder: o.holder }),
              },
              { logKey, command },
            ),
          );
          bar.update(sent.reduce((n, s) => n + (s.event.subject as { serials: string[] }).serials.length, 0));
        }
        bar.stop();
        report(ctx, sent);
        const plural = (n: number, what: string) => `${n.toLocaleString('en')} ${what}${n === 1 ? '' : 's'}`;
        ctx.out.line(`  ${plural(serials.length, 'serial number')} in ${plural(sent.length, 'event')}`);
      },
    );

  const licence = program
    .command('licence')
    .description('issue, amend, suspend and revoke export licences (licensing authority)');
  const termOptions = (c: Command, required: boolean) => {
    const opt = (
      flags: string,
      description: string,
      parse?: (v: string, p: string[]) => string[],
      initial?: string[],
    ) => {
      const o = new Option(flags, description);
      if (parse !== undefined) o.argParser(parse).default(initial);
      if (required && parse === undefined) o.makeOptionMandatory();
      return c.addOption(o);
    };
    opt('--exporter <party>', 'the licensed exporter');
    opt('--consignee <party>', 'the licensed consignee');
    opt('--end-user <name>', 'the end user');
    opt('--item <model:category:quantity>', 'a licensed item line (repeatable)', collect, []);
    opt('--route <countries>', 'comma-separated transit countries allowed');
    opt('--valid-from <date>', 'YYYY-MM-DD');
    opt('--valid-until <date>', 'YYYY-MM-DD');
    opt('--end-use <text>', 'the stated end use');
    c.option('--euc-number <n>', 'end-user certificate number');
    c.option('--euc-issuer <name>', 'who issued the end-user certificate');
    c.option('--euc-issued <date>', 'YYYY-MM-DD');
    c.option('--euc-expires <date>', 'YYYY-MM-DD');
    c.option('--euc-document <file>', 'the certificate’s scan (its SHA-256 is recorded, not the file)');
    c.option('--delivery-verification', 'the licence requires delivery verification');
    c.option('--no-reexport', 'the licence forbids re-export');
    return c;
  };
  termOptions(
    licence.command('issue').description('issue a licence').requiredOption('--licence <id>', 'licence id'),
    true,
  )
    .addHelpText(
      'after',
      EXAMPLE(
        '  custody licence issue --key bafa.key --licence DE-L-2026-0001 --exporter EXPORTCO --consignee KE-POLICE \\\n    --end-user "Kenya Police" --item G36:"assault rifle":100 --route NL --valid-from 2026-01-01 --valid-until 2026-12-31 \\\n    --end-use "law enforcement" --euc-number EUC-42 --euc-issuer "KE MoI" --euc-issued 2026-01-10 --euc-expires 2026-12-31 \\\n    --euc-document euc.pdf --delivery-verification --no-reexport',
      ),
    )
    .action(async (o: LicenceOptions & { licence: string }, command: Command) =>
      record(
        command,
        'licence.issue',
        { licence: o.licence },
        (await licenceTerms(o, true)) as EventOfType<'licence.issue'>['body'],
      ),
    );
  termOptions(
    licence
      .command('amend')
      .description('amend a licence’s terms')
      .requiredOption('--licence <id>', 'licence id')
      .requiredOption('--reason <text>', 'why'),
    false,
  ).action(async (o: LicenceOptions & { licence: string; reason: string }, command: Command) =>
    record(
      command,
      'licence.amend',
      { licence: o.licence },
      { reason: o.reason, terms: await licenceTerms(o, false) },
    ),
  );
  for (const action of ['suspend', 'revoke'] as const) {
    licence
      .command(action)
      .description(`${action} a licence`)
      .requiredOption('--licence <id>', 'licence id')
      .requiredOption('--reason <text>', 'why')
      .action((o: { licence: string; reason: string }, command: Command) =>
        record(command, `licence.${action}`, { licence: o.licence }, { reason: o.reason }),
      );
  }

  program
    .command('dispatch')
    .description('dispatch a shipment under a licence (exporter)')
    .requiredOption('--shipment <id>', 'a new shipment id')
    .requiredOption('--licence <id>', 'the licence it travels under')
    .option('--serials <list>', 'comma-separated serial numbers')
    .option('--csv <file>', 'a CSV file of serial numbers')
    .requiredOption('--from <locode>', 'UN/LOCODE of departure, e.g. DEHAM')
    .requiredOption('--to <locode>', 'UN/LOCODE of destination, e.g. KEMBA')
    .option('--carrier <party>', 'the carrier')
    .option('--seal <id>', 'a seal number (repeatable)', collect, [])
    .addHelpText(
      'after',
      EXAMPLE(
        '  custody dispatch --key exportco.key --shipment SHP-1 --licence DE-L-2026-0001 --csv serials.csv --from DEHAM --to KEMBA --seal S-1',
      ),
    )
    .action(
      async (
        o: {
          shipment: string;
          licence: string;
          serials?: string;
          csv?: string;
          from: string;
          to: string;
          carrier?: string;
          seal: string[];
        },
        command: Command,
      ) =>
        record(
          command,
          'shipment.dispatch',
          { shipment: o.shipment },
          {
            licence: o.licence,
            serials: await readSerials(o),
            from: o.from,
            to: o.to,
            seals: o.seal,
            ...(o.carrier === undefined ? {} : { carrier: o.carrier }),
          },
        ),
    );

  program
    .command('transit')
    .description('record a shipment passing customs (customs)')
    .requiredOption('--shipment <id>', 'shipment id')
    .requiredOption('--location <locode>', 'UN/LOCODE, e.g. NLRTM')
    .requiredOption('--country <cc>', 'country of the location')
    .addOption(
      new Option('--direction <direction>', 'entry, exit or transshipment')
        .choices(['entry', 'exit', 'transshipment'])
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--outcome <outcome>', 'released, held or seized')
        .choices(['released', 'held', 'seized'])
        .default('released'),
    )
    .option('--seals-broken', 'the seals were found broken')
    .option('--inspected', 'the shipment was physically inspected')
    .option('--sighted <list>', 'serial numbers seen during inspection')
    .addHelpText(
      'after',
      EXAMPLE(
        '  custody transit --key nl-customs.key --shipment SHP-1 --location NLRTM --country NL --direction transshipment --inspected --sighted SN-0001,SN-0002',
      ),
    )
    .action(
      (
        o: {
          shipment: string;
          location: string;
          country: string;
          direction: 'entry' | 'exit' | 'transshipment';
          outcome: 'released' | 'held' | 'seized';
          sealsBroken?: boolean;
          inspected?: boolean;
          sighted?: string;
        },
        command: Command,
      ) =>
        record(
          command,
          'shipment.transit',
          { shipment: o.shipment },
          {
            location: o.location,
            country: o.country,
            direction: o.direction,
            outcome: o.outcome,
            sealsIntact: o.sealsBroken !== true,
            inspected: o.inspected === true,
            ...(o.sighted === undefined ? {} : { serialsSighted: list(o.sighted) }),
          },
        ),
    );

  program
    .command('deliver')
    .description('record receipt of a shipment (consignee)')
    .requiredOption('--shipment <id>', 'shipment id')
    .requiredOption('--location <locode>', 'where it was received')
    .option('--serials <list>', 'the serial numbers received')
    .option('--csv <file>', 'a CSV file of the serial numbers received')
    .addHelpText(
      'after',
      EXAMPLE('  custody deliver --key ke-police.key --shipment SHP-1 --location KEMBA --csv received.csv'),
    )
    .action(
      async (o: { shipment: string; location: string; serials?: string; csv?: string }, command: Command) =>
        record(
          command,
          'shipment.deliver',
          { shipment: o.shipment },
          { location: o.location, serialsReceived: await readSerials(o) },
        ),
    );

  program
    .command('verify-delivery')
    .description('record a delivery verification (licensing authority or inspector of the importing country)')
    .requiredOption('--shipment <id>', 'shipment id')
    .option('--serials <list>', 'the serial numbers confirmed')
    .option('--csv <file>', 'a CSV file of the serial numbers confirmed')
    .addOption(
      new Option('--method <method>', 'documentary or on-site')
        .choices(['documentary', 'on-site'])
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--end-use <finding>', 'whether the end use was confirmed')
        .choices(['confirmed', 'not-confirmed'])
        .makeOptionMandatory(),
    )
    .addHelpText(
      'after',
      EXAMPLE(
        '  custody verify-delivery --key ke-ncc.key --shipment SHP-1 --csv confirmed.csv --method on-site --end-use confirmed',
      ),
    )
    .action(
      async (
        o: {
          shipment: string;
          serials?: string;
          csv?: string;
          method: 'documentary' | 'on-site';
          endUse: string;
        },
        command: Command,
      ) =>
        record(
          command,
          'delivery.verify',
          { shipment: o.shipment },
          {
            serialsConfirmed: await readSerials(o),
            method: o.method,
            endUseConfirmed: o.endUse === 'confirmed',
          },
        ),
    );

  program
    .command('report')
    .description('report items lost, stolen, seized, recovered, destroyed or deactivated')
    .option('--serials <list>', 'comma-separated serial numbers')
    .option('--csv <file>', 'a CSV file of serial numbers')
    .addOption(
      new Option('--kind <kind>', 'what happened')
        .choices(['lost', 'stolen', 'seized', 'recovered', 'destroyed', 'deactivated'])
        .makeOptionMandatory(),
    )
    .requiredOption('--reference <ref>', 'case or document reference')
    .option('--location <locode>', 'where')
    .addHelpText(
      'after',
      EXAMPLE(
        '  custody report --key ke-police.key --serials SN-0007 --kind stolen --reference "KE-CID-2026-118" --location KENBO',
      ),
    )
    .action(
      async (
        o: {
          serials?: string;
          csv?: string;
          kind: EventOfType<'item.report'>['body']['kind'];
          reference: string;
          location?: string;
        },
        command: Command,
      ) =>
        record(
          command,
          'item.report',
          { serials: await readSerials(o) },
          {
            kind: o.kind,
            reference: o.reference,
            ...(o.location === undefined ? {} : { location: o.location }),
          },
        ),
    );
}

interface LicenceOptions {
  exporter?: string;
  consignee?: string;
  endUser?: string;
  item: string[];
  route?: string;
  validFrom?: string;
  validUntil?: string;
  endUse?: string;
  eucNumber?: string;
  eucIssuer?: string;
  eucIssued?: string;
  eucExpires?: string;
  eucDocument?: string;
  deliveryVerification?: boolean;
  reexport?: boolean;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return hash.digest('hex');
}

/** Licence terms from options; for an amendment, only those given. */
async function licenceTerms(o: LicenceOptions, issue: boolean): Promise<Record<string, unknown>> {
  const items = o.item.map((spec) => {
    const [model, category, quantity] = spec.split(':');
    if (!model || !category || !quantity || !/^\d+$/.test(quantity)) {
      throw new CliError(`--item "${spec}" must be model:category:quantity, e.g. G36:"assault rifle":100`);
    }
    return { model, category, quantity: Number(quantity) };
  });
  const eucGiven = [o.eucNumber, o.eucIssuer, o.eucIssued, o.eucExpires, o.eucDocument].some(
    (v) => v !== undefined,
  );
  if (
    eucGiven &&
    [o.eucNumber, o.eucIssuer, o.eucIssued, o.eucExpires, o.eucDocument].some((v) => v === undefined)
  ) {
    throw new CliError(
      'an end-user certificate needs --euc-number, --euc-issuer, --euc-issued, --euc-expires and --euc-document',
    );
  }
  if (issue && items.length === 0)
    throw new CliError('a licence needs at least one --item model:category:quantity');
  const terms: Record<string, unknown> = {
    ...(o.exporter === undefined ? {} : { exporter: o.exporter }),
    ...(o.consignee === undefined ? {} : { consignee: o.consignee }),
    ...(o.endUser === undefined ? {} : { endUser: o.endUser }),
    ...(items.length === 0 ? {} : { items }),
    ...(o.route === undefined ? (issue ? { route: [] } : {}) : { route: list(o.route) }),
    ...(o.validFrom === undefined ? {} : { validFrom: o.validFrom }),
    ...(o.validUntil === undefined ? {} : { validUntil: o.validUntil }),
    ...(o.endUse === undefined ? {} : { endUse: o.endUse }),
  };
  if (eucGiven) {
    terms.euc = {
      number: o.eucNumber,
      issuer: o.eucIssuer,
      issued: o.eucIssued,
      expires: o.eucExpires,
      documentHash: await sha256File(o.eucDocument as string),
    };
  }
  if (issue || o.deliveryVerification !== undefined || o.reexport === false) {
    terms.conditions = {
      deliveryVerification: o.deliveryVerification === true,
      noReexport: o.reexport === false,
    };
  }
  return terms;
}

/** Setting up: a ledger and its keys (init), running its node (serve), new keys (keygen). */
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import {
  cosignatureVerifier,
  cosigner,
  ed25519Verifier,
  generateKeyPair,
  Ledger,
  LevelWitnessStore,
  type NoteVerifier,
  readKeyFile,
  signEvent,
  Witness,
  writeKeyFile,
} from '@custody/ledger';
// The node (Fastify and its plugins) loads only for the commands that run one.
import type { WitnessEndpoint } from '@custody/node';
import type { Command } from 'commander';
import { contextOf } from '../context.js';
import { CliError, EXIT } from '../exit.js';
import { forwardedSignals, serveOnThread } from '../node-thread.js';
import { newEventId, nowIso } from '../send.js';

/** Where init puts things inside --data DIR. */
export const layout = (dir: string) => ({
  ledger: join(dir, 'ledger'),
  witness: join(dir, 'witness'),
  /** A mirror's record of a source caught misbehaving. */
  evidence: join(dir, 'mirror-evidence.json'),
  nodeKey: join(dir, 'node.key'),
  registrarKey: join(dir, 'registrar.key'),
});

const int =
  (name: string, max = Number.MAX_SAFE_INTEGER) =>
  (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > max) {
      throw new CliError(
        `${name} must be a whole number${max === Number.MAX_SAFE_INTEGER ? '' : ` from 0 to ${max}`}`,
      );
    }
    return n;
  };

const collect = (value: string, previous: string[]) => [...previous, value];

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

interface ServeFlags {
  data: string;
  host: string;
  port: number;
  rateLimit: number;
  logLevel: string;
  witnessKey?: string;
  witnessLog: string[];
  cosigner: string[];
  mirror?: string;
  logKey?: string;
  syncInterval: number;
}

/** `URL=VKEY`: a witness's submission prefix and its cosignature key (the first "=" splits them). */
function cosignerOf(spec: string): WitnessEndpoint {
  const at = spec.indexOf('=');
  const url = spec.slice(0, at);
  if (at < 0 || !/^https?:\/\//.test(url))
    throw new CliError(
      `--cosigner ${spec}: expected URL=VKEY, e.g. http://127.0.0.1:9000=witness.example/w1+…`,
    );
  try {
    return { url, verifier: cosignatureVerifier(spec.slice(at + 1)) };
  } catch (e) {
    throw new CliError(`--cosigner ${spec}: ${(e as Error).message}`);
  }
}

/** The witness a node runs beside its log, if asked: its key, the logs it witnesses, its state in DIR/witness. */
async function witnessOf(
  o: ServeFlags,
  dir: string,
): Promise<{ witness: Witness; store: LevelWitnessStore } | undefined> {
  if (o.witnessKey === undefined) {
    if (o.witnessLog.length > 0) throw new CliError('--witness-log needs --witness-key');
    return undefined;
  }
  if (o.witnessLog.length === 0)
    throw new CliError('a witness needs at least one --witness-log VKEY to witness');
  const key = await readKeyFile(o.witnessKey);
  const logs = new Map<string, NoteVerifier[]>();
  for (const vkey of o.witnessLog) {
    let verifier: NoteVerifier;
    try {
      verifier = ed25519Verifier(vkey);
    } catch (e) {
      throw new CliError(`--witness-log ${vkey}: ${(e as Error).message}`);
    }
    logs.set(verifier.name, [...(logs.get(verifier.name) ?? []), verifier]);
  }
  const store = await LevelWitnessStore.open(dir);
  return { witness: new Witness(cosigner(key.name, key.secretKey), logs, store), store };
}

export interface InitOptions {
  data: string;
  origin: string;
  registrar: string;
  country: string;
  deliveryDays: number;
  verificationDays: number;
  maxBackdateDays: number;
}

/** Creates the ledger, the node key and the registrar key, and writes the genesis. Returns the log vkey. */
export async function initLedger(o: InitOptions): Promise<{ logVkey: string; registrarVkey: string }> {
  const paths = layout(o.data);
  // Checked before anything is written, so that a refused init leaves the folder as it was.
  const present: string[] = [];
  for (const path of [paths.ledger, paths.nodeKey, paths.registrarKey])
    if (await exists(path)) present.push(path);
  if (present.length > 0) {
    throw new CliError(
      `${o.data} already holds a ledger (${present.join(', ')}); serve it with "custody serve --data ${o.data}", or choose another --data folder`,
      EXIT.usage,
      'CUSTODY_LEDGER_EXISTS',
    );
  }
  await mkdir(o.data, { recursive: true });
  const nodeKey = generateKeyPair(o.origin);
  const registrar = generateKeyPair(o.registrar);
  await writeKeyFile(paths.nodeKey, nodeKey);
  await writeKeyFile(paths.registrarKey, registrar);
  const ledger = await Ledger.create(paths.ledger, { origin: o.origin, secretKey: nodeKey.secretKey });
  try {
    const genesis = signEvent(
      {
        type: 'ledger.genesis',
        id: newEventId(),
        time: nowIso(),
        prev: null,
        subject: {},
        body: {
          origin: o.origin,
          registrar: {
            id: o.registrar,
            name: `${o.origin} registrar`,
            country: o.country,
            keys: [registrar.vkey],
          },
          policy: {
            deliveryDays: o.deliveryDays,
            verificationDays: o.verificationDays,
            maxBackdateDays: o.maxBackdateDays,
            maxFutureSeconds: 300,
          },
        },
      },
      registrar,
    );
    await ledger.submitOne(genesis);
  } finally {
    await ledger.close();
  }
  return { logVkey: nodeKey.vkey, registrarVkey: registrar.vkey };
}

export function setupCommands(program: Command): void {
  program
    .command('init')
    .description('create a ledger with its node key and registrar key, and print the log key')
    .requiredOption('--data <dir>', 'folder for the ledger and its keys')
    .requiredOption('--origin <name>', 'the log’s name, e.g. custody.example/log')
    .option('--registrar <id>', 'party id of the registrar', 'REGISTRAR')
    .option('--country <cc>', 'registrar’s country (ISO 3166 alpha-2)', 'CH')
    .option(
      '--delivery-days <n>',
      'days from dispatch until a delivery is overdue',
      int('--delivery-days'),
      30,
    )
    .option(
      '--verification-days <n>',
      'days from delivery until verification is overdue',
      int('--verification-days'),
      90,
    )
    .option(
      '--max-backdate-days <n>',
      'how far a claimed time may precede its receipt',
      int('--max-backdate-days'),
      7,
    )
    .addHelpText('after', '\nExample:\n  custody init --data ./custody-data --origin customs.example/log\n')
    .action(async (o: InitOptions, command: Command) => {
      const { out } = contextOf(command);
      const { logVkey, registrarVkey } = await initLedger(o);
      const paths = layout(o.data);
      out.result({
        origin: o.origin,
        logKey: logVkey,
        registrarKey: registrarVkey,
        ledger: paths.ledger,
        nodeKeyFile: paths.nodeKey,
        registrarKeyFile: paths.registrarKey,
      });
      out.line(`Created ledger ${out.c.bold(o.origin)} in ${paths.ledger}`);
      out.line(`Log key (give it to everyone who verifies): ${out.c.bold(logVkey)}`);
      out.line(`Node key: ${paths.nodeKey} (secret, mode 0600)`);
      out.line(`Registrar key: ${paths.registrarKey} (secret, mode 0600)`);
      out.line(`Next: custody serve --data ${o.data}`);
    });

  program
    .command('serve')
    .description('run the node on a ledger created by init')
    .requiredOption('--data <dir>', 'the folder given to init')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', int('--port', 65535), 8080)
    .option('--rate-limit <n>', 'requests per client per minute (0: none)', int('--rate-limit'), 6000)
    .option('--log-level <level>', 'fatal, error, warn, info or debug', 'warn')
    .option('--witness-key <file>', 'also act as a witness (POST /add-checkpoint), cosigning with this key')
    .option('--witness-log <vkey>', 'a log this witness witnesses (repeatable)', collect, [])
    .option(
      '--cosigner <url=vkey>',
      'a witness to ask for cosignatures after each checkpoint (repeatable)',
      collect,
      [],
    )
    .option('--mirror <url>', 'follow the node at URL as a read-only, verifying mirror (needs --log-key)')
    .option('--log-key <vkey>', 'with --mirror: the key of the log to mirror')
    .option(
      '--sync-interval <ms>',
      'with --mirror: how often to poll the source',
      int('--sync-interval'),
      1000,
    )
    .addHelpText(
      'after',
      '\nExamples:\n  custody serve --data ./custody-data --port 8080\n  custody serve --data ./custody-data --witness-key w1.key --witness-log other.example/log+…\n\nStops gracefully on SIGTERM or Ctrl-C: the group in flight is written first.\nLets V8’s heap grow to at most one and a half times what was live at its last\nfull collection (unless Node runs with its own --heap-growing-percent, or\n--max-old-space-size). Serves from a thread of its own, whose young generation\nis twice V8’s default (unless Node runs with its own --max-semi-space-size).\n',
    )
    .action(async (o: ServeFlags, command: Command) => {
      if (isMainThread) {
        process.exitCode = await serveOnThread();
        return;
      }
      const { out } = contextOf(command);
      const paths = layout(o.data);
      if ((o.mirror === undefined) !== (o.logKey === undefined))
        throw new CliError('--mirror and --log-key go together');
      if (o.mirror !== undefined) await mkdir(o.data, { recursive: true });
      if (o.mirror === undefined && !(await exists(paths.ledger))) {
        throw new CliError(
          `no ledger in ${o.data}; create one first (custody init --data ${o.data}), or follow another node with --mirror`,
          EXIT.usage,
          'CUSTODY_NO_LEDGER',
        );
      }
      const key = o.mirror === undefined ? await readKeyFile(paths.nodeKey) : undefined;
      const witness = await witnessOf(o, paths.witness);
      const { serve, closeOnSignals, holdHeapNearLive } = await import('@custody/node');
      // A node runs for months: its heap should follow what it keeps, not what it allocates.
      holdHeapNearLive();
      const { app, url } = await serve({
        dataDir: paths.ledger,
        ...(key === undefined ? {} : { secretKey: key.secretKey }),
        ...(o.mirror === undefined || o.logKey === undefined
          ? {}
          : {
              mirror: {
                source: o.mirror,
                logVkey: o.logKey,
                evidenceFile: paths.evidence,
                intervalMs: o.syncInterval,
              },
            }),
        host: o.host,
        port: o.port,
        rateLimit: o.rateLimit === 0 ? false : o.rateLimit,
        logger: { level: o.logLevel },
        ...(witness === undefined ? {} : { witness: witness.witness, onClose: () => witness.store.close() }),
        witnesses: o.cosigner.map(cosignerOf),
      });
      const logKey = key?.vkey ?? (o.logKey as string);
      const origin = logKey.split('+')[0] as string;
      out.result({ url, origin, logKey, mirrorOf: o.mirror, witnessKey: witness?.witness.cosigner.vkey });
      out.line(
        `custody ${o.mirror === undefined ? 'node' : `mirror of ${o.mirror}`} for ${origin} listening on ${url}`,
      );
      out.line(`log key: ${logKey}`);
      if (witness !== undefined) out.line(`witness key: ${witness.witness.cosigner.vkey}`);
      closeOnSignals(
        app,
        (signal) => out.line(`stopped on ${signal}; every acknowledged event is on disk`),
        forwardedSignals(),
      );
    });

  program
    .command('keygen')
    .description('make a new key pair for a party (or a witness); prints the public key (vkey)')
    .requiredOption('--name <name>', 'the party id the key belongs to, e.g. NL-CUSTOMS (or a witness name)')
    .requiredOption('--out <file>', 'where to write the secret key file (mode 0600, never overwritten)')
    .option('--witness', 'a witness key: print its cosigning key (tlog-cosignature, type 0x04) for clients')
    .addHelpText(
      'after',
      '\nExamples:\n  custody keygen --name NL-CUSTOMS --out nl-customs.key\n  custody keygen --name witness.example/w1 --out w1.key --witness\n',
    )
    .action(async (o: { name: string; out: string; witness?: boolean }, command: Command) => {
      const { out } = contextOf(command);
      const key = generateKeyPair(o.name);
      await writeKeyFile(o.out, key);
      const vkey = o.witness === true ? cosigner(key.name, key.secretKey).vkey : key.vkey;
      out.result({ name: key.name, keyId: key.keyId, vkey, file: o.out });
      out.line(`Wrote ${o.out} (secret; keep it private)`);
      out.line(`Public key: ${out.c.bold(vkey)}`);
      out.line(
        o.witness === true
          ? 'Run it with custody serve … --witness-key <this file>; clients pass the public key to --witness'
          : `Ask the registrar to register it: custody party register --id ${key.name} --name "…" --roles … --country … --vkey ${vkey}`,
      );
    });
}

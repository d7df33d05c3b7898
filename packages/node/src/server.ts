/**
 * Running a node as a process: open the ledger, listen, and shut down
 * gracefully on SIGTERM or SIGINT (stop accepting, finish the group in
 * flight, close the database). A second signal exits at once.
 */
import { CustodyError, Ledger } from '@custody/ledger';
import type { FastifyInstance } from 'fastify';
import { createNode, type NodeOptions } from './app.js';

export interface ServeOptions extends Omit<NodeOptions, 'ledger' | 'mirror'> {
  readonly dataDir: string;
  /** The log's key; absent for a mirror. */
  readonly secretKey?: Uint8Array;
  /** Follow this node as a mirror of the log with this key (created in dataDir on first run). */
  readonly mirror?: {
    readonly source: string;
    readonly logVkey: string;
    readonly evidenceFile: string;
    readonly intervalMs?: number;
  };
  readonly host?: string;
  readonly port?: number;
}

/** Connections waiting to be accepted at most (see serve). */
const LISTEN_BACKLOG = 4096;

export async function serve(options: ServeOptions): Promise<{ app: FastifyInstance; url: string }> {
  const { dataDir, secretKey, mirror, host = '127.0.0.1', port = 8080, ...nodeOptions } = options;
  const ledger =
    mirror === undefined
      ? await Ledger.open(dataDir, secretKey === undefined ? {} : { secretKey })
      : await openMirror(dataDir, mirror.logVkey);
  const app = await createNode({
    ...nodeOptions,
    ledger,
    ...(mirror === undefined
      ? {}
      : {
          mirror: {
            source: mirror.source,
            evidenceFile: mirror.evidenceFile,
            ...(mirror.intervalMs === undefined ? {} : { intervalMs: mirror.intervalMs }),
          },
        }),
  });
  // Connections the node has not accepted yet wait in the kernel's listen
  // queue; past it their handshakes are dropped and retried only after
  // growing pauses. Node's default queue (511) is shorter than the
  // connections clients open when the node is slow for a moment: in one
  // load run, a node stalled for a second left writes waiting up to 14.5 s;
  // with this queue, in one run, 4.5 s (RELIABILITY.md, the twenty-first
  // session). Linux caps it at net.core.somaxconn (4096 by default since 5.4).
  const url = await app.listen({ host, port, backlog: LISTEN_BACKLOG });
  return { app, url };
}

/** A mirror's ledger: created on the first run, then reopened, always for the same log key. */
async function openMirror(dir: string, logVkey: string): Promise<Ledger> {
  let ledger: Ledger;
  try {
    ledger = await Ledger.open(dir);
  } catch (e) {
    if ((e as { code?: string }).code !== 'CUSTODY_NO_LEDGER') throw e;
    ledger = await Ledger.createMirror(dir, { logVkey });
  }
  if (ledger.logVkey !== logVkey) {
    await ledger.close();
    throw new CustodyError(
      'CUSTODY_WRONG_LOG_KEY',
      `${dir} mirrors the log ${ledger.logVkey}, not ${logVkey}`,
      403,
    );
  }
  return ledger;
}

/** Where SIGTERM and SIGINT arrive: the process, or what a worker thread's parent forwards to it. */
export interface SignalSource {
  on(signal: 'SIGTERM' | 'SIGINT', listener: (signal: NodeJS.Signals) => void): unknown;
}

/**
 * Closes the app on SIGTERM or SIGINT, then exits (on a worker thread,
 * ends the thread); `onClosed` runs before exit.
 */
export function closeOnSignals(
  app: FastifyInstance,
  onClosed: (signal: string) => void = () => {},
  signals: SignalSource = process,
): void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) process.exit(1);
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing the group in flight');
    app.close().then(
      () => {
        onClosed(signal);
        process.exit(0);
      },
      (error) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  signals.on('SIGTERM', handler);
  signals.on('SIGINT', handler);
}

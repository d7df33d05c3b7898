/**
 * Running a node as a process: open the ledger, listen, and shut down
 * gracefully on SIGTERM or SIGINT (stop accepting, finish the group in
 * flight, close the database). A second signal exits at once.
 */
import { Ledger } from '@custody/ledger';
import type { FastifyInstance } from 'fastify';
import { createNode, type NodeOptions } from './app.js';

export interface ServeOptions extends Omit<NodeOptions, 'ledger'> {
  readonly dataDir: string;
  readonly secretKey: Uint8Array;
  readonly host?: string;
  readonly port?: number;
}

export async function serve(options: ServeOptions): Promise<{ app: FastifyInstance; url: string }> {
  const { dataDir, secretKey, host = '127.0.0.1', port = 8080, ...nodeOptions } = options;
  const ledger = await Ledger.open(dataDir, { secretKey });
  const app = await createNode({ ...nodeOptions, ledger });
  const url = await app.listen({ host, port });
  return { app, url };
}

/** Closes the app on SIGTERM or SIGINT, then exits; `onClosed` runs before exit. */
export function closeOnSignals(app: FastifyInstance, onClosed: (signal: string) => void = () => {}): void {
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
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

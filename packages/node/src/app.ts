/**
 * createNode: a Fastify app serving one ledger. Tests drive it with `inject`;
 * `serve` (server.ts) listens on a real socket.
 */
import { CustodyError, type Ledger, type Witness } from '@custody/ledger';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { Batcher } from './batcher.js';
import { Cosigning, type WitnessEndpoint } from './cosigning.js';
import { sendError, toCustodyError } from './errors.js';
import { type LoopWatch, watchEventLoop } from './event-loop.js';
import { watchLiveHeap } from './heap.js';
import { createMetrics } from './metrics.js';
import { Follower } from './mirror.js';
import { eventRoutes } from './routes/events.js';
import { historyRoutes } from './routes/history.js';
import { logRoutes } from './routes/log.js';
import { opsRoutes } from './routes/ops.js';
import { tileRoutes } from './routes/tiles.js';
import { witnessRoutes } from './routes/witness.js';

export interface NodeOptions {
  readonly ledger: Ledger;
  /** Pino options, or false for no logs. */
  readonly logger?: FastifyServerOptions['logger'];
  /** Largest request body, bytes (an entry is at most 64 KiB). */
  readonly bodyLimit?: number;
  /** Submissions that may wait for a group before the node answers 503. */
  readonly maxQueue?: number;
  /** Submissions per group commit at most. */
  readonly maxGroup?: number;
  /** Requests per client (IP) per minute, or false for no limit. */
  readonly rateLimit?: number | false;
  /** Entries per page of /v1/entries. */
  readonly pageSize?: number;
  /** Milliseconds a request may take, body included (slow clients are cut off). */
  readonly requestTimeout?: number;
  /** Witnesses to ask for cosignatures after each new checkpoint. */
  readonly witnesses?: readonly WitnessEndpoint[];
  /** Milliseconds to wait for each witness (default 2000). */
  readonly witnessTimeout?: number;
  /** Follow another node as its mirror; writes are then refused. */
  readonly mirror?: { readonly source: string; readonly evidenceFile: string; readonly intervalMs?: number };
  /** Also act as a witness (POST /add-checkpoint) with this witness. */
  readonly witness?: Witness;
  /** More to close after the ledger when the app closes (e.g. a witness's store). */
  readonly onClose?: () => Promise<void>;
  /** Close the ledger when the app closes (default true). */
  readonly closeLedger?: boolean;
}

export async function createNode(options: NodeOptions): Promise<FastifyInstance> {
  const { ledger } = options;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 128 * 1024,
    requestTimeout: options.requestTimeout ?? 30_000,
    connectionTimeout: options.requestTimeout ?? 30_000,
    requestIdHeader: 'x-request-id',
    // A prototype-poisoning key is refused, not silently stripped.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Validation never changes what the signer signed: no coercion, no
    // defaults, no dropped members (Fastify's Ajv does all three by default).
    ajv: {
      customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false },
    },
    return503OnClosing: true,
  });

  // Events are JSON only; without this, Fastify would hand a text/plain body to the handler.
  app.removeContentTypeParser('text/plain');

  const metrics = createMetrics();
  // Watched from when the node is ready to when it closes (a node that fails to build watches nothing).
  let stopWatchingHeap = () => {};
  let loop: LoopWatch | undefined;
  app.addHook('onReady', async () => {
    stopWatchingHeap = watchLiveHeap((bytes) => metrics.heapLive.set(bytes));
    loop = watchEventLoop();
  });
  const follower =
    options.mirror === undefined
      ? undefined
      : new Follower(
          ledger,
          options.mirror.source,
          options.mirror.intervalMs ?? 1_000,
          options.mirror.evidenceFile,
          app.log,
        );
  const cosigning = new Cosigning(ledger, options.witnesses ?? [], options.witnessTimeout ?? 2_000, app.log);
  const withWitnesses = (options.witnesses ?? []).length > 0;
  /** Every checkpoint the node hands out, with the cosignatures gathered for it. */
  const checkpoint = () => cosigning.checkpoint();
  const batcher = new Batcher(ledger, {
    ...(withWitnesses ? { afterGroup: () => cosigning.collect() } : {}),
    maxQueue: options.maxQueue ?? 10_000,
    maxGroup: options.maxGroup ?? 1_000,
    onGroup: (outcomes, seconds) => {
      metrics.groupSize.observe(outcomes.length);
      metrics.appended.inc(outcomes.filter((o) => o.ok && !o.duplicate).length);
      metrics.appendSeconds.observe(seconds);
      metrics.treeSize.set(ledger.servedSize);
    },
  });

  app.setErrorHandler((error, request, reply) => {
    const custody = toCustodyError(error, request.id);
    metrics.refusals.inc({ code: custody.code });
    if (custody.status >= 500) request.log.error({ err: error, code: custody.code }, custody.message);
    else request.log.info({ code: custody.code }, custody.message);
    return sendError(custody, request, reply);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const error = new CustodyError(
      'CUSTODY_NO_ROUTE',
      `no endpoint ${request.method} ${path}; see /docs`,
      404,
    );
    metrics.refusals.inc({ code: error.code });
    return sendError(error, request, reply);
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Custody node',
        version: '1',
        description:
          'Signed custody events in; durable receipts, verifiable histories and evidence bundles out.',
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  if (options.rateLimit !== false) {
    await app.register(rateLimit, { max: options.rateLimit ?? 6_000, timeWindow: 60_000 });
  }

  eventRoutes(app, ledger, batcher, checkpoint, follower?.source);
  logRoutes(app, ledger, checkpoint, options.pageSize ?? 1_000);
  historyRoutes(app, ledger, checkpoint);
  opsRoutes(app, ledger, batcher, metrics, () => loop?.read(), follower);
  tileRoutes(app, ledger, checkpoint);
  // A node that starts with witnesses asks them about the checkpoint it already has.
  if (withWitnesses) app.addHook('onReady', async () => void cosigning.collect());
  if (options.witness !== undefined) await witnessRoutes(app, options.witness);

  // While closing, every response asks the client to hang up, so keep-alive
  // connections cannot hold a shutting-down node open.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  if (follower !== undefined) app.addHook('onReady', async () => void follower.start());

  // Stop taking writes, finish the queued groups, then close the database.
  app.addHook('onClose', async () => {
    await batcher.close();
    await follower?.stop();
    if (options.closeLedger !== false) await ledger.close();
    await options.onClose?.();
    stopWatchingHeap();
    loop?.stop();
  });
  return app;
}

/** Liveness and metrics. */
import type { Ledger } from '@custody/ledger';
import type { FastifyInstance } from 'fastify';
import type { Batcher } from '../batcher.js';
import type { LoopFigures } from '../event-loop.js';
import type { Metrics } from '../metrics.js';
import type { Follower } from '../mirror.js';
import { Health } from '../schemas.js';

export function opsRoutes(
  app: FastifyInstance,
  ledger: Ledger,
  batcher: Batcher,
  metrics: Metrics,
  /** The event loop's figures since the last scrape; undefined before the node is ready. */
  readLoop: () => LoopFigures | undefined,
  follower?: Follower,
): void {
  app.get(
    '/healthz',
    { schema: { summary: 'Liveness, and a mirror’s alarm', response: { 200: Health } } },
    async () => {
      const mirror = follower?.status();
      return {
        status: mirror?.alarm === undefined ? ('ok' as const) : ('alarm' as const),
        origin: ledger.origin,
        size: ledger.servedSize,
        queue: batcher.depth,
        ...(mirror === undefined ? {} : { mirror }),
      };
    },
  );

  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics', produces: ['text/plain'] } },
    async (_request, reply) => {
      metrics.treeSize.set(ledger.servedSize);
      metrics.queueDepth.set(batcher.depth);
      if (follower !== undefined) metrics.mirrorAlarm.set(follower.status().alarm === undefined ? 0 : 1);
      const loop = readLoop();
      if (loop !== undefined) {
        metrics.loopUtilization.set(loop.utilization);
        metrics.loopDelay.set({ quantile: '0.5' }, loop.delay.p50);
        metrics.loopDelay.set({ quantile: '0.99' }, loop.delay.p99);
        metrics.loopDelay.set({ quantile: '1' }, loop.delay.max);
        metrics.gcPauses.inc({ kind: 'minor' }, loop.gcPauses.minor);
        metrics.gcPauses.inc({ kind: 'major' }, loop.gcPauses.major);
        if (loop.thread !== undefined) {
          metrics.loopThread.inc({ state: 'running' }, loop.thread.running);
          metrics.loopThread.inc({ state: 'waiting' }, loop.thread.waiting);
        }
      }
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
  );
}

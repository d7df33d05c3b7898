/** Liveness and metrics. */
import type { Ledger } from '@custody/ledger';
import type { FastifyInstance } from 'fastify';
import type { Batcher } from '../batcher.js';
import type { Metrics } from '../metrics.js';
import { Health } from '../schemas.js';

export function opsRoutes(app: FastifyInstance, ledger: Ledger, batcher: Batcher, metrics: Metrics): void {
  app.get('/healthz', { schema: { summary: 'Liveness', response: { 200: Health } } }, async () => ({
    status: 'ok' as const,
    origin: ledger.origin,
    size: ledger.size,
    queue: batcher.depth,
  }));

  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics', produces: ['text/plain'] } },
    async (_request, reply) => {
      metrics.treeSize.set(ledger.size);
      metrics.queueDepth.set(batcher.depth);
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
  );
}

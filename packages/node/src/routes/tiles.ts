/**
 * The static read API (c2sp.org/tlog-tiles): the checkpoint, Merkle tiles and
 * entry bundles. Tiles never change once served, so any plain HTTP server or
 * cache can hold them, and generic transparency-log tools can read the log.
 */
import { gzipSync } from 'node:zlib';
import { type Ledger, parseTilePath } from '@custody/ledger';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { checkpointOrUnavailable } from '../checkpoint.js';
import { ErrorBody } from '../schemas.js';

export function tileRoutes(app: FastifyInstance, ledger: Ledger, checkpoint: () => string): void {
  app.get(
    '/checkpoint',
    {
      schema: {
        summary: 'The latest checkpoint (tlog-tiles; same as /v1/checkpoint)',
        produces: ['text/plain'],
      },
    },
    async (_request, reply) =>
      reply
        .type('text/plain; charset=utf-8')
        .header('cache-control', 'public, max-age=2')
        .send(checkpointOrUnavailable(checkpoint)),
  );

  app.get<{ Params: { '*': string } }>(
    '/tile/*',
    {
      schema: {
        summary: 'A Merkle tile or entry bundle: /tile/<L>/<N>[.p/<W>], /tile/entries/<N>[.p/<W>]',
        params: Type.Object({ '*': Type.String({ maxLength: 64 }) }),
        response: { '4xx': ErrorBody, '5xx': ErrorBody },
      },
    },
    async (request, reply) => {
      const address = parseTilePath(request.params['*']);
      let body = Buffer.from(await ledger.tile(address));
      reply.type('application/octet-stream').header('cache-control', 'public, max-age=31536000, immutable');
      if (address.level === 'entries' && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
        body = gzipSync(body);
        reply.header('content-encoding', 'gzip').header('vary', 'accept-encoding');
      }
      return reply.send(body);
    },
  );
}

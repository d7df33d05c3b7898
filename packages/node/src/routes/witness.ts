/**
 * POST /add-checkpoint (c2sp.org/tlog-witness) on a node configured as a
 * witness. Its answers are the spec's own: plain text, with the status codes
 * the protocol defines, not the JSON errors of the /v1 API.
 */
import type { Witness } from '@custody/ledger';
import type { FastifyInstance } from 'fastify';

export async function witnessRoutes(app: FastifyInstance, witness: Witness): Promise<void> {
  // Encapsulated: only this route takes text bodies; /v1/events stays JSON-only.
  await app.register(async (scope) => {
    scope.addContentTypeParser(
      ['text/plain', 'application/octet-stream'],
      { parseAs: 'string', bodyLimit: 64 * 1024 },
      (_request, body, done) => done(null, body),
    );
    scope.post<{ Body: string }>(
      '/add-checkpoint',
      {
        schema: {
          summary: 'Witness a checkpoint (c2sp.org/tlog-witness)',
          consumes: ['text/plain'],
          produces: ['text/plain'],
        },
      },
      async (request, reply) => {
        const answer = await witness.addCheckpoint(typeof request.body === 'string' ? request.body : '');
        return reply.code(answer.status).type(answer.contentType).send(answer.body);
      },
    );
  });
}

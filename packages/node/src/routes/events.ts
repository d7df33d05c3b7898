/** The write endpoint: a signed event in, a durable receipt out. */

import { CustodyError, type Ledger, type Receipt as ReceiptData } from '@custody/ledger';
import type { FastifyInstance } from 'fastify';
import type { Batcher } from '../batcher.js';
import { ErrorBody, Receipt, Submission } from '../schemas.js';

/**
 * Receipts as JSON, with the checkpoint to hand out in place of the
 * receipt's own (see the route). A group's receipts share one checkpoint,
 * whose text (newlines and all) the schema's serializer escaped again for
 * every response; it is escaped once here, for as long as it is the latest.
 * The other members go through JSON.stringify like any text: a duplicate's
 * receipt carries a hash read back from the index, which a changed store
 * could make anything. The same JSON as JSON.stringify (a test holds it).
 */
export function receiptSerializer(): (receipt: ReceiptData, cosigned: string) => string {
  let checkpoint = '';
  let checkpointJson = '""';
  return (r, cosigned) => {
    if (cosigned !== checkpoint) {
      checkpoint = cosigned;
      checkpointJson = JSON.stringify(checkpoint);
    }
    const json = JSON.stringify;
    return `{"index":${json(r.index)},"leafHash":${json(r.leafHash)},"eventHash":${json(r.eventHash)},"checkpoint":${checkpointJson},"inclusionProof":${json(r.inclusionProof)}}`;
  };
}

export function eventRoutes(
  app: FastifyInstance,
  ledger: Ledger,
  batcher: Batcher,
  checkpoint: () => string,
  /** Set on a mirror: the node that takes the writes. */
  mirrorOf?: string,
): void {
  const toJson = receiptSerializer();
  app.post(
    '/v1/events',
    {
      schema: {
        summary: 'Submit a signed custody event',
        description:
          'Answers 201 with a receipt once the event is on disk (fsync) and covered by a signed checkpoint; the same signed event sent again gets 200 and its existing receipt.',
        body: Submission,
        response: { 200: Receipt, 201: Receipt, '4xx': ErrorBody, '5xx': ErrorBody },
      },
      // The schema documents the vocabulary; the ledger judges the exact bytes
      // received and names the failing field itself. So the body is not run
      // through the schema too (it was, and the result was thrown away: about
      // 7 % of the node's time under load).
      validatorCompiler: () => () => true,
    },
    async (request, reply) => {
      if (mirrorOf !== undefined) {
        throw new CustodyError(
          'CUSTODY_READ_ONLY',
          `this node is a read-only mirror of ${mirrorOf}; submit events there`,
          403,
        );
      }
      const pre = await ledger.precheck(request.body);
      if ('error' in pre) throw pre.error;
      const outcome = await batcher.submit(pre.submission);
      if (!outcome.ok) throw outcome.error;
      // The receipt's checkpoint with the cosignatures gathered for it, if it is still the latest.
      const current = checkpoint();
      const cosigned = current.startsWith(outcome.receipt.checkpoint) ? current : outcome.receipt.checkpoint;
      return reply
        .code(outcome.duplicate ? 200 : 201)
        .type('application/json; charset=utf-8')
        .send(toJson(outcome.receipt, cosigned));
    },
  );
}

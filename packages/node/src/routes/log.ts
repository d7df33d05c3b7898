/** The log itself: checkpoint, key, entries and proofs. */
import { CustodyError, type Ledger, parseUint64, toBase64 } from '@custody/ledger';
import type { FastifyInstance } from 'fastify';
import type { Static } from 'typebox';
import { checkpointOrUnavailable } from '../checkpoint.js';
import {
  ConsistencyProof,
  ConsistencyQuery,
  EntriesPage,
  EntriesQuery,
  Entry,
  ErrorBody,
  Head,
  HeadQuery,
  InclusionProof,
  InclusionQuery,
  IndexParams,
} from '../schemas.js';

const errors = { '4xx': ErrorBody, '5xx': ErrorBody };

function entryJson(e: Awaited<ReturnType<Ledger['event']>>): Static<typeof Entry> {
  return { index: e.index, leaf: toBase64(e.leaf), event: e.event };
}

export function logRoutes(
  app: FastifyInstance,
  ledger: Ledger,
  checkpoint: () => string,
  pageSize: number,
): void {
  app.get(
    '/v1/checkpoint',
    { schema: { summary: 'The latest signed checkpoint (C2SP tlog-checkpoint)', produces: ['text/plain'] } },
    async (_request, reply) =>
      reply
        .type('text/plain; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(checkpointOrUnavailable(checkpoint)),
  );

  app.get(
    '/v1/log-key',
    { schema: { summary: 'The log’s verifier key (C2SP vkey)', produces: ['text/plain'] } },
    async (_request, reply) => reply.type('text/plain; charset=utf-8').send(`${ledger.logVkey}\n`),
  );

  app.get<{ Querystring: Static<typeof EntriesQuery> }>(
    '/v1/entries',
    {
      schema: {
        summary: `Entries [start, end), at most ${pageSize} per page`,
        querystring: EntriesQuery,
        response: { 200: EntriesPage, ...errors },
      },
    },
    async (request) => {
      const size = ledger.servedSize;
      const start = parseUint64(request.query.start, 'start');
      const asked = request.query.end === undefined ? BigInt(size) : parseUint64(request.query.end, 'end');
      if (start > BigInt(size))
        throw new CustodyError(
          'CUSTODY_OUT_OF_RANGE',
          `start ${start} is beyond the log (size ${size})`,
          404,
        );
      if (asked < start) throw new CustodyError('CUSTODY_BAD_INPUT', 'end must not be below start', 400);
      const end = Number([asked, BigInt(size), start + BigInt(pageSize)].reduce((a, b) => (a < b ? a : b)));
      const entries = await ledger.events(Number(start), end);
      const more = BigInt(end) < asked && end < size;
      return { entries: entries.map(entryJson), size, ...(more ? { next: end } : {}) };
    },
  );

  app.get<{ Params: Static<typeof IndexParams> }>(
    '/v1/entries/:index',
    { schema: { summary: 'One entry', params: IndexParams, response: { 200: Entry, ...errors } } },
    async (request) => entryJson(await ledger.event(parseUint64(request.params.index, 'index'))),
  );

  app.get<{ Querystring: Static<typeof HeadQuery> }>(
    '/v1/heads',
    {
      schema: {
        summary: 'The latest event of a chain: the prev the next event on it must carry',
        querystring: HeadQuery,
        response: { 200: Head, ...errors },
      },
    },
    async (request) => ({ chain: request.query.chain, head: await ledger.head(request.query.chain) }),
  );

  app.get<{ Querystring: Static<typeof InclusionQuery> }>(
    '/v1/proof/inclusion',
    {
      schema: {
        summary: 'RFC 9162 inclusion proof',
        querystring: InclusionQuery,
        response: { 200: InclusionProof, ...errors },
      },
    },
    async (request) => {
      const size =
        request.query.size === undefined
          ? BigInt(ledger.servedSize)
          : parseUint64(request.query.size, 'size');
      const index = parseUint64(request.query.index, 'index');
      const proof = await ledger.inclusionProof(index, size);
      return { index: Number(index), size: Number(size), proof: proof.map(toBase64) };
    },
  );

  app.get<{ Querystring: Static<typeof ConsistencyQuery> }>(
    '/v1/proof/consistency',
    {
      schema: {
        summary: 'RFC 9162 consistency proof',
        querystring: ConsistencyQuery,
        response: { 200: ConsistencyProof, ...errors },
      },
    },
    async (request) => {
      const to =
        request.query.to === undefined ? BigInt(ledger.servedSize) : parseUint64(request.query.to, 'to');
      const from = parseUint64(request.query.from, 'from');
      const proof = await ledger.consistencyProof(from, to);
      return { from: Number(from), to: Number(to), proof: proof.map(toBase64) };
    },
  );
}

/** Histories and evidence bundles of items, shipments, licences and parties. */
import { CustodyError, type Ledger, type History as LedgerHistory, type Subject } from '@custody/ledger';
import type { FastifyInstance } from 'fastify';
import type { Static } from 'typebox';
import Type from 'typebox';
import { Bundle, ErrorBody, History, HistoryQuery } from '../schemas.js';

const errors = { '4xx': ErrorBody, '5xx': ErrorBody };

function nowOf(query: Static<typeof HistoryQuery>, ledger: Ledger): Date {
  if (query.now === undefined) return ledger.now();
  const now = new Date(query.now);
  if (Number.isNaN(now.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(query.now)) {
    throw new CustodyError(
      'CUSTODY_BAD_INPUT',
      'now must be an RFC 3339 time, e.g. 2026-11-22T10:00:00Z',
      400,
    );
  }
  return now;
}

/** The history without the raw events: bundles carry those, with proofs. */
function historyJson(h: LedgerHistory): Static<typeof History> {
  const { events: _events, ...rest } = h;
  return rest as unknown as Static<typeof History>;
}

const KINDS = [
  { path: 'items', param: 'serial', kind: 'serial', what: 'an item, by serial number' },
  { path: 'shipments', param: 'id', kind: 'shipment', what: 'a shipment' },
  { path: 'licences', param: 'id', kind: 'licence', what: 'a licence' },
  { path: 'parties', param: 'id', kind: 'party', what: 'a party' },
] as const;

export function historyRoutes(app: FastifyInstance, ledger: Ledger, checkpoint: () => string): void {
  for (const { path, param, kind, what } of KINDS) {
    const params = Type.Object({ [param]: Type.String({ minLength: 1, maxLength: 64 }) });
    const subjectOf = (p: Record<string, string>) => ({ [kind]: p[param] }) as unknown as Subject;

    app.get<{ Params: Record<string, string>; Querystring: Static<typeof HistoryQuery> }>(
      `/v1/${path}/:${param}`,
      {
        schema: {
          summary: `History, flags and verdict of ${what}`,
          params,
          querystring: HistoryQuery,
          response: { 200: History, ...errors },
        },
      },
      async (request) =>
        historyJson(await ledger.history(subjectOf(request.params), nowOf(request.query, ledger))),
    );

    app.get<{ Params: Record<string, string> }>(
      `/v1/${path}/:${param}/bundle`,
      {
        schema: {
          summary: `Evidence bundle of ${what}, verifiable offline with the log key`,
          params,
          response: { 200: Bundle, ...errors },
        },
      },
      async (request, reply) => {
        const bundle = await ledger.bundle(subjectOf(request.params), { checkpoint: checkpoint() });
        const name = `${kind}-${request.params[param]}`.replace(/[^A-Za-z0-9._-]/g, '_');
        return reply
          .header('content-disposition', `attachment; filename="${name}.custody-bundle.json"`)
          .send(bundle);
      },
    );
  }
}

/**
 * Every failure leaves the node as { code, message, requestId } with the
 * status of its code; no stack trace, internal path or library message ever
 * reaches a client.
 */
import { CustodyError } from '@custody/ledger';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export function toCustodyError(error: unknown, requestId: string): CustodyError {
  if (error instanceof CustodyError) return error;
  const e = error as Partial<FastifyError> & { validation?: unknown; validationContext?: string };
  if (e.validation !== undefined) {
    return new CustodyError('CUSTODY_SCHEMA', validationMessage(e.validation, e.validationContext), 400);
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new CustodyError(
        'CUSTODY_TOO_LARGE',
        'the request body is over the node’s limit; split the event (e.g. its serial list)',
        413,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new CustodyError('CUSTODY_UNSUPPORTED_MEDIA', 'send the body as application/json', 415);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new CustodyError('CUSTODY_BAD_JSON', 'the body is not valid JSON', 400);
  }
  if (e.statusCode === 400 && (e.name === 'SyntaxError' || e.code?.startsWith('FST_ERR_CTP') === true)) {
    const forbidden = /prototype|constructor/i.test(e.message ?? '');
    return new CustodyError(
      'CUSTODY_BAD_JSON',
      forbidden ? 'the body holds a forbidden key (__proto__ or constructor)' : 'the body is not valid JSON',
      400,
    );
  }
  if (e.statusCode === 429)
    return new CustodyError(
      'CUSTODY_RATE_LIMITED',
      'too many requests from this client; retry after the Retry-After delay',
      429,
    );
  if (e.statusCode === 408) return new CustodyError('CUSTODY_TIMEOUT', 'the request took too long', 408);
  return new CustodyError(
    'CUSTODY_INTERNAL',
    `the node failed on this request; report request id ${requestId}`,
    500,
  );
}

export function sendError(error: CustodyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.status === 503 || error.status === 429) reply.header('retry-after', '1');
  return reply
    .code(error.status)
    .type('application/json')
    .send({ code: error.code, message: error.message, requestId: request.id });
}

/** The decimal integers of the query and path schemas (schemas.ts), said in words. */
const DECIMAL = '^(0|[1-9][0-9]{0,19})$';

/** The first thing wrong with a request's path, query or headers, naming what it is. */
function validationMessage(validation: unknown, context = 'request'): string {
  const first = (Array.isArray(validation) ? validation[0] : undefined) as
    | { instancePath?: string; keyword?: string; message?: string; params?: Record<string, unknown> }
    | undefined;
  const where = { querystring: 'query parameter', params: 'path parameter', headers: 'header' }[context];
  const field = first?.instancePath?.replace(/^\//, '').replaceAll('/', '.') ?? '';
  const extra =
    first?.keyword === 'additionalProperties' ? String(first.params?.additionalProperty ?? '') : '';
  if (extra !== '') return `${where ?? context} ${extra} is not one this endpoint takes`;
  if (first?.keyword === 'required')
    return `${where ?? context} ${String(first.params?.missingProperty)} is missing`;
  const what = where !== undefined && field !== '' ? `${where} ${field}` : context;
  const why =
    first?.keyword === 'pattern' && first.params?.pattern === DECIMAL
      ? 'must be a whole number, written in decimal without leading zeros'
      : (first?.message ?? 'is invalid');
  return `${what} ${why}`;
}

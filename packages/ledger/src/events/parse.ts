/**
 * Checking that a value is a v1 custody event. The checks are TypeBox's,
 * generated from `schema.ts` into `checks.generated.ts` ahead of time; a
 * refusal is explained by TypeBox's error walk over the same schema, which
 * only a refused value pays for.
 */
import { Errors } from 'typebox/schema';
import type { TSchema } from 'typebox/type';
import { CustodyError } from '../errors.js';
import { type Check, envelope, parts } from './checks.generated.js';
import { type CustodyEvent, Envelope, VOCABULARY } from './schema.js';

function firstError(check: Check, schema: TSchema, value: unknown, at: string): string | undefined {
  if (check(value)) return undefined;
  const [, errors] = Errors(schema, value);
  // Prefer the most specific error (deepest path) over the union's summary.
  errors.sort((a, b) => b.instancePath.length - a.instancePath.length);
  const e = errors[0];
  if (e === undefined) return `${at} is invalid`;
  const path = `${at}${e.instancePath.replaceAll('/', '.')}`;
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperties?: string[] }).additionalProperties?.join(', ');
    return `${path} has unknown member(s) ${extra}`;
  }
  if (e.keyword === 'required') {
    const missing = (e.params as { requiredProperties?: string[] }).requiredProperties?.join(', ');
    return `${path} is missing ${missing}`;
  }
  return `${path} ${e.message}`;
}

const realDate = (text: string): boolean => {
  const d = new Date(text.length === 10 ? `${text}T00:00:00Z` : text);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === text.slice(0, 10);
};

/**
 * Checks that `value` is a v1 custody event and returns it typed. The value is
 * not copied or changed; a refusal names the field and what was expected.
 */
export function parseEvent(value: unknown): CustodyEvent {
  const fail = (why: string) => new CustodyError('CUSTODY_SCHEMA', `event ${why}`, 400);
  const refused = firstError(envelope, Envelope, value, 'event');
  if (refused !== undefined) throw fail(refused.replace(/^event\.?/, '').trim() || 'is not an object');
  const event = value as CustodyEvent;
  const checks = parts[event.type];
  for (const part of ['subject', 'body'] as const) {
    const error = firstError(checks[part], VOCABULARY[event.type][part], event[part], part);
    if (error !== undefined) throw fail(error);
  }
  for (const [path, text] of datesOf(event)) {
    if (!realDate(text)) throw fail(`${path} is not a real date (${text})`);
  }
  return event;
}

/** Every date or time field of an event, for the calendar check JSON Schema cannot do. */
function datesOf(event: CustodyEvent): [string, string][] {
  const out: [string, string][] = [['time', event.time]];
  const b = event.body as Record<string, unknown>;
  for (const key of ['validFrom', 'validUntil', 'compromisedSince']) {
    if (typeof b[key] === 'string') out.push([`body.${key}`, b[key] as string]);
  }
  const terms = (b.terms ?? {}) as Record<string, unknown>;
  for (const key of ['validFrom', 'validUntil']) {
    if (typeof terms[key] === 'string') out.push([`body.terms.${key}`, terms[key] as string]);
  }
  const euc = (b.euc ?? terms.euc) as Record<string, unknown> | undefined;
  for (const key of ['issued', 'expires']) {
    if (typeof euc?.[key] === 'string') out.push([`body.euc.${key}`, euc[key] as string]);
  }
  return out;
}

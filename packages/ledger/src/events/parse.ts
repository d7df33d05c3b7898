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

/** What is wrong with an event: the field, as a path from the event (e.g. "body.country"), and why. */
export interface EventProblem {
  /** Empty when the problem is the event as a whole. */
  readonly field: string;
  readonly why: string;
}

function firstError(check: Check, schema: TSchema, value: unknown, at: string): EventProblem | undefined {
  if (check(value)) return undefined;
  const [, errors] = Errors(schema, value);
  // Prefer the most specific error (deepest path) over the union's summary.
  errors.sort((a, b) => b.instancePath.length - a.instancePath.length);
  const e = errors[0];
  if (e === undefined) return { field: at, why: 'is invalid' };
  const field = `${at}${e.instancePath.replaceAll('/', '.')}`;
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperties?: string[] }).additionalProperties?.join(', ');
    return { field, why: `has unknown member(s) ${extra}` };
  }
  if (e.keyword === 'required') {
    const missing = (e.params as { requiredProperties?: string[] }).requiredProperties?.join(', ');
    return { field, why: `is missing ${missing}` };
  }
  return { field, why: e.message };
}

const realDate = (text: string): boolean => {
  const d = new Date(text.length === 10 ? `${text}T00:00:00Z` : text);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === text.slice(0, 10);
};

/**
 * What is wrong with `value` as a v1 custody event, or undefined if it is
 * one: for a signer to check an event before signing it, and say which of
 * its own inputs set the field.
 */
export function eventProblem(value: unknown): EventProblem | undefined {
  const envelopeProblem = firstError(envelope, Envelope, value, '');
  if (envelopeProblem !== undefined) {
    return { field: envelopeProblem.field.replace(/^\./, ''), why: envelopeProblem.why };
  }
  const event = value as CustodyEvent;
  const checks = parts[event.type];
  for (const part of ['subject', 'body'] as const) {
    const problem = firstError(checks[part], VOCABULARY[event.type][part], event[part], part);
    if (problem !== undefined) return problem;
  }
  for (const [field, text] of datesOf(event)) {
    if (!realDate(text)) return { field, why: `is not a real date (${text})` };
  }
  return undefined;
}

/**
 * Checks that `value` is a v1 custody event and returns it typed. The value is
 * not copied or changed; a refusal names the field and what was expected.
 */
export function parseEvent(value: unknown): CustodyEvent {
  const problem = eventProblem(value);
  if (problem !== undefined) {
    const what = problem.field === '' ? problem.why : `${problem.field} ${problem.why}`;
    throw new CustodyError('CUSTODY_SCHEMA', `event ${what}`, 400);
  }
  return value as CustodyEvent;
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

/**
 * The event checks generated ahead of time (`checks.generated.ts`) are
 * TypeBox's compiled checks of `schema.ts`: the file is what the generator
 * writes today, and on valid events of every type, on events changed in one
 * place and on arbitrary values each generated check answers as TypeBox's
 * own compiler does.
 */
import { readFileSync } from 'node:fs';
import { fc } from '@fast-check/vitest';
import { Compile } from 'typebox/compile';
import type { TSchema } from 'typebox/type';
import { describe, expect, test } from 'vitest';
import { CHECKS_FILE, checksSource } from '../scripts/generate-checks.js';
import { type Check, envelope, parts } from '../src/events/checks.generated.js';
import { Envelope, EVENT_TYPES, VOCABULARY } from '../src/events/schema.js';

test('checks.generated.ts is what the generator writes from schema.ts (else run pnpm gen:checks)', () => {
  expect(readFileSync(CHECKS_FILE, 'utf8')).toBe(checksSource());
});

/** The JSON Schema subset the vocabulary uses, as fast-check sees it. */
interface Schema {
  type?: 'object' | 'string' | 'integer' | 'boolean' | 'array' | 'null';
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  anyOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
}

/** Values the schema accepts, built from it (arrays kept short, as their length is not what is tested). */
function valid(schema: Schema): fc.Arbitrary<unknown> {
  if (schema.anyOf !== undefined) return fc.oneof(...schema.anyOf.map(valid));
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum);
  if (schema.const !== undefined) return fc.constant(schema.const);
  switch (schema.type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({ min: schema.minimum, max: schema.maximum });
    case 'string': {
      const { minLength = 0, maxLength = 1000 } = schema;
      const text =
        schema.pattern === undefined
          ? fc.string({ minLength, maxLength })
          : fc.stringMatching(new RegExp(schema.pattern, 'u'));
      const length = (s: string) => [...s].length;
      return text.filter((s) => length(s) >= minLength && length(s) <= maxLength);
    }
    case 'array': {
      const { minItems = 0, maxItems = 3 } = schema;
      const options = { minLength: minItems, maxLength: Math.min(maxItems, minItems + 3) };
      const items = valid(schema.items ?? {});
      return schema.uniqueItems ? fc.uniqueArray(items, options) : fc.array(items, options);
    }
    case 'object': {
      const properties = schema.properties ?? {};
      const required = Object.keys(properties).filter((k) => schema.required?.includes(k));
      const members = Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, valid(s)]));
      return fc.record(members, { requiredKeys: required });
    }
    default:
      return fc.anything();
  }
}

type Change = { delete: true } | { add: true } | { replace: unknown };
const change: fc.Arbitrary<Change> = fc.oneof(
  fc.constant({ delete: true as const }),
  fc.constant({ add: true as const }),
  fc.anything({ maxDepth: 2 }).map((replace) => ({ replace })),
);

/** The value changed in one place: a member or element removed, added or replaced by anything. */
function changedOnce(value: unknown): fc.Arbitrary<unknown> {
  return fc.tuple(fc.nat(), change).map(([pick, how]) => {
    const copy = structuredClone(value);
    const places: [Record<string | number, unknown>, string | number][] = [];
    const walk = (v: unknown) => {
      if (typeof v !== 'object' || v === null) return;
      for (const [k, x] of Object.entries(v)) {
        places.push([v as Record<string, unknown>, Array.isArray(v) ? Number(k) : k]);
        walk(x);
      }
    };
    walk(copy);
    const place = places[pick % Math.max(places.length, 1)];
    if (place === undefined) return 'add' in how ? { extra: 1 } : copy;
    const [holder, key] = place;
    if ('delete' in how) {
      if (Array.isArray(holder)) holder.splice(key as number, 1);
      else delete holder[key];
    } else if ('add' in how) {
      if (Array.isArray(holder)) holder.push(holder[0]);
      else holder.extra = 'x';
    } else holder[key] = how.replace;
    return copy;
  });
}

/** Characters at a pattern's edges: digits, both cases, punctuation, controls, non-ASCII. */
const EDGE_CHARS = [
  '0',
  '1',
  '9',
  'a',
  'z',
  'A',
  'Z',
  '-',
  '_',
  '.',
  '/',
  ' ',
  '\u0000',
  '\u001f',
  '\u007f',
  'é',
  '😀',
];

/**
 * Calls `visit` with the value once for each one-character edit of each of
 * its strings (a character replaced, or one inserted, at the first ten and
 * last two places): the change that finds a pattern or length bound
 * written differently. The value is changed in place and restored.
 */
function eachCharacterEdit(value: unknown, visit: (edited: unknown) => void): void {
  const walk = (holder: Record<string | number, unknown>) => {
    for (const key of Object.keys(holder)) {
      const v = holder[key];
      if (typeof v === 'object' && v !== null) walk(v as Record<string, unknown>);
      if (typeof v !== 'string') continue;
      const chars = [...v];
      const at = [...new Set([...chars.keys()].filter((i) => i < 10 || i >= chars.length - 2))];
      for (const i of [...at, chars.length])
        for (const char of EDGE_CHARS)
          for (const replaced of [1, 0]) {
            holder[key] = [...chars.slice(0, i), char, ...chars.slice(i + replaced)].join('');
            visit(value);
          }
      holder[key] = v;
    }
  };
  if (typeof value === 'object' && value !== null) walk(value as Record<string, unknown>);
}

const schemaOf = (s: TSchema) => s as unknown as Schema;
const cases: [string, TSchema, Check][] = [
  ['envelope', Envelope, envelope],
  ...EVENT_TYPES.flatMap((type): [string, TSchema, Check][] => [
    [`${type} subject`, VOCABULARY[type].subject, parts[type].subject],
    [`${type} body`, VOCABULARY[type].body, parts[type].body],
  ]),
];

describe('each generated check answers as TypeBox compiles it', () => {
  test.each(cases)('%s', (_name, schema, generated) => {
    const compiled = Compile(schema);
    const agrees = (value: unknown) => {
      expect(generated(value)).toBe(compiled.Check(value));
    };
    const accepted = valid(schemaOf(schema));
    fc.assert(
      fc.property(accepted, (value) => {
        // The arbitrary is built to be valid: both must accept, or the comparison proves nothing.
        expect(compiled.Check(value)).toBe(true);
        agrees(value);
      }),
      { numRuns: 60 },
    );
    fc.assert(fc.property(accepted.chain(changedOnce), agrees), { numRuns: 150 });
    fc.assert(
      fc.property(accepted, (value) => eachCharacterEdit(value, agrees)),
      { numRuns: 5 },
    );
    fc.assert(fc.property(fc.anything({ maxDepth: 3 }), agrees), { numRuns: 40 });
  });
});

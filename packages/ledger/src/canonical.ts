/** RFC 8785 (JCS) canonical bytes of a JSON value: what every hash and signature covers. */
import { utf8 } from './bytes.js';
import { CustodyError } from './errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * The JCS text of `value`, in one pass that also refuses anything JSON cannot
 * represent exactly (undefined, functions, non-finite numbers, objects other
 * than plain ones, e.g. with toJSON) instead of dropping it or stringifying it
 * its own way, since either would sign different bytes than intended.
 *
 * RFC 8785 is ECMAScript's own JSON text with members sorted by UTF-16 code
 * units: JSON.stringify gives its strings and numbers, and the default sort
 * order of strings is that order. (The canonicalize package, the reference
 * the tests hold this to, works the same way, in two passes with ours.)
 */
export function canonicalJson(value: JsonValue): string {
  return serialize(value, [], 0);
}

export function canonicalBytes(value: JsonValue): Uint8Array {
  return utf8(canonicalJson(value));
}

/**
 * True only if `text`, which JSON.parse read as `value`, is exactly
 * canonicalJson(value), decided natively: JSON.stringify writes strings and
 * numbers as JCS does, and members in the order the text had them, so the
 * text is canonical if that order is sorted throughout and the two texts are
 * equal. False where that cannot tell (keys V8 reorders, as integer-like ones;
 * escaped surrogates, which JCS refuses; deep nesting): canonicalize then.
 */
export function canonicalAsIs(text: string, value: unknown): boolean {
  return !ESCAPED_SURROGATE.test(text) && membersSorted(value, 0) && JSON.stringify(value) === text;
}

/** JSON.stringify escapes a surrogate only when it is lone (well-formed JSON.stringify). */
const ESCAPED_SURROGATE = /\\u[dD][89a-fA-F]/;

function membersSorted(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) return value.every((v) => membersSorted(v, depth + 1));
  let last: string | undefined;
  for (const key in value) {
    if (last !== undefined && !(last < key)) return false;
    last = key;
    if (!membersSorted((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

/** Deep enough for any custody event; deeper input is hostile, not data. */
const MAX_DEPTH = 32;

/** In unicode mode a surrogate pair is one code point, so this matches only lone surrogates. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Where the serializer is, as keys and array indices from the root. Kept as a
 * stack and turned into "$.a[0].b" only on failure: every hash and signature
 * goes through here, and building each path as it went cost a string a member.
 */
type Path = (string | number)[];

function fail(path: Path, why: string): CustodyError {
  const at = path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
  return new CustodyError('CUSTODY_NOT_CANONICAL', `$${at} ${why}`);
}

/** A string as JSON; a lone surrogate has no UTF-8 form, so it cannot be signed as it reads. */
function quote(text: string, path: Path): string {
  if (LONE_SURROGATE.test(text)) throw fail(path, 'holds a lone surrogate, which has no UTF-8 form');
  return JSON.stringify(text);
}

/**
 * A member's text before its value, `"key":` for an object's first member
 * and `,"key":` for the others, by key. Events use a few dozen keys over
 * and over, and quoting each again (then joining comma, key and colon) was
 * a third of what canonicalizing an event allocated. Bounded: arbitrary JSON
 * (a commitment's value, hostile input) may bring any number of keys, and
 * clearing lets the common ones back in.
 */
const prefixes = new Map<string, readonly [first: string, next: string]>();
const MAX_PREFIXES = 4096;

function memberPrefix(key: string, first: boolean, path: Path): string {
  let cached = prefixes.get(key);
  if (cached === undefined) {
    const quoted = quote(key, path);
    cached = [`${quoted}:`, `,${quoted}:`];
    if (prefixes.size >= MAX_PREFIXES) prefixes.clear();
    prefixes.set(key, cached);
  }
  return cached[first ? 0 : 1];
}

/**
 * An object's keys in the default sort order (UTF-16 code units), sorted in
 * place by insertion when there are few, as in every custody event: `sort`
 * makes a working copy of the array, a good part of what hashing an event
 * allocates. A large object (only hostile input has one) takes `sort`.
 */
function sortedKeys(record: Record<string, unknown>): string[] {
  const keys = Object.keys(record);
  if (keys.length > 16) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    for (; j >= 0 && (keys[j] as string) > key; j--) keys[j + 1] = keys[j] as string;
    keys[j + 1] = key;
  }
  return keys;
}

function serialize(value: unknown, path: Path, depth: number): string {
  if (depth > MAX_DEPTH) throw fail(path, `is nested deeper than ${MAX_DEPTH} levels`);
  switch (typeof value) {
    case 'string':
      return quote(value, path);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw fail(path, 'is not a finite number');
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          path.push(i);
          out += `${i === 0 ? '' : ','}${serialize(value[i], path, depth + 1)}`;
          path.pop();
        }
        return `${out}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw fail(path, 'is not a plain JSON object');
      const record = value as Record<string, unknown>;
      let out = '{';
      for (const key of sortedKeys(record)) {
        path.push(key);
        out += memberPrefix(key, out.length === 1, path);
        out += serialize(record[key], path, depth + 1);
        path.pop();
      }
      return `${out}}`;
    }
    default:
      throw fail(path, `is a ${typeof value}, which JSON cannot represent`);
  }
}

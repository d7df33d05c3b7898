/** RFC 8785 (JCS) canonical bytes of a JSON value: what every hash and signature covers. */
import canonicalize from 'canonicalize';
import { utf8 } from './bytes.js';
import { CustodyError } from './errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * The JCS text of `value`. Refuses anything JSON cannot represent exactly
 * instead of letting the library drop it (undefined members) or stringify it
 * its own way (toJSON), since either would sign different bytes than intended.
 */
export function canonicalJson(value: JsonValue): string {
  assertJson(value, '$', 0);
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (cause) {
    throw new CustodyError('CUSTODY_NOT_CANONICAL', `value cannot be canonicalized: ${String(cause)}`, 400, {
      cause,
    });
  }
  if (text === undefined) throw new CustodyError('CUSTODY_NOT_CANONICAL', 'value has no JSON form');
  return text;
}

export function canonicalBytes(value: JsonValue): Uint8Array {
  return utf8(canonicalJson(value));
}

/** Deep enough for any custody event; deeper input is hostile, not data. */
const MAX_DEPTH = 32;

function assertJson(value: unknown, path: string, depth: number): void {
  const fail = (why: string) => new CustodyError('CUSTODY_NOT_CANONICAL', `${path} ${why}`);
  if (depth > MAX_DEPTH) throw fail(`is nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw fail('is not a finite number');
    return;
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) assertJson(item, `${path}[${i}]`, depth + 1);
    return;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw fail('is not a plain JSON object');
    for (const [key, item] of Object.entries(value)) assertJson(item, `${path}.${key}`, depth + 1);
    return;
  }
  throw fail(`is a ${typeof value}, which JSON cannot represent`);
}

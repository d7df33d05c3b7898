/**
 * Byte and number encodings shared by every format module. Parsers are strict:
 * one accepted spelling per value, so that a re-encoded value is byte-identical
 * and nothing malleable reaches a hash or a signature.
 */
import { CustodyError } from './errors.js';

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decodes UTF-8, refusing invalid sequences instead of replacing them with U+FFFD. */
export function fromUtf8(bytes: Uint8Array): string {
  try {
    return strictDecoder.decode(bytes);
  } catch (cause) {
    throw new CustodyError('CUSTODY_BAD_INPUT', 'the bytes are not valid UTF-8', 400, { cause });
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

const HEX = /^(?:[0-9a-f]{2})*$/;

/** Lower-case hex only; `length` (in bytes) is checked when given. */
export function fromHex(text: string, length?: number, what = 'value'): Uint8Array {
  if (typeof text !== 'string' || !HEX.test(text) || (length !== undefined && text.length !== length * 2)) {
    const size = length === undefined ? '' : ` of ${length} bytes`;
    throw new CustodyError('CUSTODY_BAD_INPUT', `${what} must be lower-case hex${size}`);
  }
  return new Uint8Array(Buffer.from(text, 'hex'));
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Each base64 digit's value by its character code; -1 for every other character, '=' included. */
const DIGITS = new Int8Array(128).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) {
  DIGITS[c.charCodeAt(0)] = i;
}
const digit = (text: string, i: number): number => {
  const code = text.charCodeAt(i);
  return code < 128 ? (DIGITS[code] as number) : -1;
};

/**
 * Standard padded base64 (RFC 4648 §4). Node's decoder silently skips bad
 * characters and ignores non-zero trailing bits, so two spellings could decode
 * to the same bytes; we accept only the canonical one. Decoded here in one
 * pass, not checked by a pattern, decoded by Node and encoded again to
 * compare: every signature a node takes in or an audit reads comes through
 * here, and that took 0.9 µs against 0.15 (BENCHMARKS.md item 68).
 */
export function fromBase64(text: string, length?: number, what = 'value'): Uint8Array {
  const fail = (why: string) => new CustodyError('CUSTODY_BAD_INPUT', `${what} ${why}`);
  const notBase64 = () => fail('is not standard padded base64');
  if (typeof text !== 'string' || text.length % 4 !== 0) throw notBase64();
  const n = text.length;
  // '=' only as the last one or two characters: anywhere else it is not a digit, and fails below.
  const pad = n === 0 || text.charCodeAt(n - 1) !== 61 ? 0 : text.charCodeAt(n - 2) === 61 ? 2 : 1;
  const bytes = new Uint8Array((n / 4) * 3 - pad);
  const whole = pad === 0 ? n : n - 4;
  let o = 0;
  /** Negative once any character was not a digit. */
  let bad = 0;
  for (let i = 0; i < whole; i += 4) {
    const a = digit(text, i);
    const b = digit(text, i + 1);
    const c = digit(text, i + 2);
    const d = digit(text, i + 3);
    bad |= a | b | c | d;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    bytes[o++] = v >> 16;
    bytes[o++] = v >> 8;
    bytes[o++] = v;
  }
  /** The bits of the last digit that no byte takes: canonical only if zero. */
  let spare = 0;
  if (pad !== 0) {
    const a = digit(text, whole);
    const b = digit(text, whole + 1);
    const c = pad === 1 ? digit(text, whole + 2) : 0;
    bad |= a | b | c;
    const v = (a << 18) | (b << 12) | (c << 6);
    bytes[o++] = v >> 16;
    if (pad === 1) bytes[o++] = v >> 8;
    spare = pad === 2 ? b & 0x0f : c & 0x03;
  }
  if (bad < 0) throw notBase64();
  if (spare !== 0) throw fail('is not canonical base64 (non-zero padding bits)');
  if (length !== undefined && bytes.length !== length) {
    throw fail(`must decode to ${length} bytes, not ${bytes.length}`);
  }
  return bytes;
}

export const MAX_UINT64 = (1n << 64n) - 1n;
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

/**
 * Parses a tree size or index written in ASCII decimal (no sign, no leading
 * zeros) into a bigint, so values beyond 2^53 stay exact.
 */
export function parseUint64(text: string, what = 'number'): bigint {
  if (typeof text !== 'string' || text.length > 20 || !DECIMAL.test(text)) {
    throw new CustodyError('CUSTODY_BAD_INPUT', `${what} must be a decimal integer without leading zeros`);
  }
  const value = BigInt(text);
  if (value > MAX_UINT64) throw new CustodyError('CUSTODY_BAD_INPUT', `${what} exceeds 2^64 - 1`);
  return value;
}

/**
 * Narrows a bigint to a JavaScript number for use as a storage index. The log
 * cannot hold 2^53 entries, so a larger value can only be out of range.
 */
export function toSafeIndex(value: bigint, what = 'index'): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CustodyError(
      'CUSTODY_OUT_OF_RANGE',
      `${what} ${value} is beyond any tree this log can hold`,
      404,
    );
  }
  return Number(value);
}

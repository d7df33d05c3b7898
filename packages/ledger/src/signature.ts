/**
 * The one Ed25519 validity rule (DESIGN.md "Events"), used for events, notes
 * and cosignatures alike, so that no two verifiers in the system can disagree
 * on what is validly signed.
 *
 * RFC 8032 leaves verifiers room (cofactored or not, canonical encodings or
 * not, small-order points or not), and libraries differ: @noble/ed25519 is
 * cofactored, OpenSSL cofactorless ("Taming the many EdDSAs"). We take the
 * strict intersection, so anything accepted here is accepted by every common
 * library:
 *  - public key A: canonical encoding, not of small order, torsion-free
 *    (checked once, when the key is parsed);
 *  - signature: exactly 64 bytes; R canonically encoded and not of small
 *    order; S < L;
 *  - the cofactorless equation [S]B = R + [k]A, compared exactly. With A
 *    torsion-free, it already refuses an R that carries a torsion component,
 *    the malleability an honest key holder could otherwise exploit.
 */

import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign as opensslSign,
  verify as opensslVerify,
  randomBytes,
} from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { concat, equalBytes } from './bytes.js';

ed.hashes.sha512 = sha512;

const { Point } = ed;
type Point = InstanceType<typeof Point>;

/** The order of the prime subgroup, L = 2^252 + 27742317777372353535851937790883648493. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/** A public key that passed the key checks; only these can verify anything. */
export interface PublicKey {
  readonly bytes: Uint8Array;
  readonly point: Point;
  /** The same key for node:crypto (OpenSSL), for the fast path. */
  readonly keyObject: KeyObject;
}

function littleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] as number);
  return n;
}

/** A point from its canonical 32-byte encoding, or undefined (y ≥ p, x = 0 with sign bit, not on the curve). */
function canonicalPoint(bytes: Uint8Array): Point | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) return undefined;
  try {
    const point = Point.fromBytes(bytes, false);
    return equalBytes(point.toBytes(), bytes) ? point : undefined;
  } catch {
    return undefined;
  }
}

/** Parses and checks a public key; undefined if it is not one we accept. */
export function parsePublicKey(bytes: Uint8Array): PublicKey | undefined {
  const point = canonicalPoint(bytes);
  if (point === undefined || point.isSmallOrder() || !point.isTorsionFree()) return undefined;
  const keyObject = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(bytes).toString('base64url') },
    format: 'jwk',
  });
  return { bytes: Uint8Array.from(bytes), point, keyObject };
}

/** True only if `signature` is valid for `message` under `key` by the strict rule. Never throws. */
export function verifySignature(key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== 64 || !(message instanceof Uint8Array)) {
    return false;
  }
  const rBytes = signature.subarray(0, 32);
  const s = littleEndian(signature.subarray(32, 64));
  if (s >= L) return false;
  const R = canonicalPoint(rBytes);
  if (R === undefined || R.isSmallOrder()) return false;
  const k = littleEndian(sha512(concat(rBytes, key.bytes, message))) % L;
  const left = Point.BASE.multiply(s, false);
  const right = R.add(key.point.multiply(k, false));
  return left.equals(right);
}

/**
 * The encodings of the eight points of small order (the torsion subgroup),
 * generated from one point of order 8, for the fast path's R check.
 */
export const SMALL_ORDER: readonly Uint8Array[] = (() => {
  const t = Point.fromHex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05');
  const out: Uint8Array[] = [];
  for (let k = 0n, p = Point.ZERO; k < 8n; k++, p = p.add(t)) out.push(p.toBytes());
  return out;
})();

const P = 2n ** 255n - 19n;

/** `n` as 32 little-endian bytes. */
function bytesLE(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}

/** a < b for 32-byte little-endian numbers, with `topMask` applied to a's last byte. */
function lessLE(a: Uint8Array, b: Uint8Array, topMask = 0xff): boolean {
  for (let i = 31; i >= 0; i--) {
    const x = (a[i] as number) & (i === 31 ? topMask : 0xff);
    const y = b[i] as number;
    if (x !== y) return x < y;
  }
  return false;
}

const L_LE = bytesLE(L);
const P_LE = bytesLE(P);
/** y = 1 and y = p − 1: the two points with x = 0, which must not carry a sign bit. */
const X_ZERO = [bytesLE(1n), bytesLE(P - 1n)];

/** y of an encoded point equals the 32-byte `value`, sign bit ignored. */
function yEquals(r: Uint8Array, value: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (((r[i] as number) & (i === 31 ? 0x7f : 0xff)) !== value[i]) return false;
  return true;
}

/**
 * The strict rule's checks on R and S that need no point arithmetic: R
 * canonically encoded (y < p, and no sign bit on the two points with x = 0)
 * and not of small order; S < L. Whether R is on the curve at all is left to
 * the equation, which no off-curve encoding can satisfy. Compared as bytes:
 * this runs for every signature a node takes.
 */
export function signatureEncodingOk(signature: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  if (!lessLE(signature.subarray(32, 64), L_LE)) return false;
  const r = signature.subarray(0, 32);
  if (!lessLE(r, P_LE, 0x7f)) return false;
  if (((r[31] as number) & 0x80) !== 0 && X_ZERO.some((v) => yEquals(r, v))) return false;
  return !SMALL_ORDER.some((t) => equalBytes(t, r));
}

/**
 * The same rule, fast and off the event loop: the cheap checks above, then
 * OpenSSL's cofactorless equation on libuv's thread pool (about ten times
 * noble's speed). `verifySignature` stays the reference; a test proves both
 * agree on every published vector, crafted and fuzzed input. Never rejects.
 */
export function verifySignatureAsync(
  key: PublicKey,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (!(message instanceof Uint8Array) || !signatureEncodingOk(signature)) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      opensslVerify(null, message, key.keyObject, signature, (error, ok) => resolve(error === null && ok));
    } catch {
      resolve(false);
    }
  });
}

/**
 * The fast path, synchronously: for checks that run in bulk on the calling
 * thread (histories, bundles, audits). Same rule, same agreement test.
 */
export function verifySignatureFast(key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(message instanceof Uint8Array) || !signatureEncodingOk(signature)) return false;
  try {
    return opensslVerify(null, message, key.keyObject, signature);
  } catch {
    return false;
  }
}

/** Convenience for raw bytes: checks the key, then the signature. Never throws. */
export function verifyWithRawKey(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const key = parsePublicKey(publicKey);
  return key !== undefined && verifySignature(key, message, signature);
}

/** A new 32-byte Ed25519 secret key (RFC 8032 seed) from the OS CSPRNG. */
export function generateSecretKey(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return ed.getPublicKey(secretKey);
}

export function sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return ed.sign(message, secretKey);
}

/**
 * Signing with one key, again and again, through OpenSSL with the key
 * prepared once: a node signs a checkpoint for every group, and `sign`
 * re-derives the key's scalar and public point on each call. Ed25519
 * signatures are deterministic (RFC 8032), so the bytes are `sign`'s exactly;
 * a test holds them to it.
 */
export function signerOf(secretKey: Uint8Array): (message: Uint8Array) => Uint8Array {
  const key = createPrivateKey({
    key: {
      kty: 'OKP',
      crv: 'Ed25519',
      d: Buffer.from(secretKey).toString('base64url'),
      x: Buffer.from(publicKeyOf(secretKey)).toString('base64url'),
    },
    format: 'jwk',
  });
  return (message) => new Uint8Array(opensslSign(null, message, key));
}

/** Signing and hashing custody events (DESIGN.md "Events"). */

import { concat, fromBase64, toBase64, toHex, utf8 } from '../bytes.js';
import { canonicalJson, type JsonObject } from '../canonical.js';
import { sha256 } from '../hash.js';
import type { KeyPair } from '../keys.js';
import { type PublicKey, sign, verifySignatureAsync, verifySignatureFast } from '../signature.js';
import type { VerifyPool } from '../verify-pool.js';
import type { CustodyEvent } from './schema.js';

/** Domain separation: these signatures are valid as custody events and nowhere else. */
const DOMAIN = utf8('custody/event/v1\n');

/** What is signed: the domain line, then the event's RFC 8785 bytes. */
export function signedMessage(event: JsonObject | CustodyEvent): Uint8Array {
  return signedBytes(canonicalJson(event as JsonObject));
}

/**
 * The domain line, then `json` as UTF-8, written into one buffer (every
 * event on its way in and every audited entry comes here: encoding the text,
 * then joining, took three allocations and twice the time).
 */
function signedBytes(json: string): Uint8Array {
  const length = DOMAIN.length + Buffer.byteLength(json);
  const bytes = Buffer.allocUnsafe(length);
  bytes.set(DOMAIN);
  bytes.write(json, DOMAIN.length);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, length);
}

/** The event hash, by which events refer to each other (`prev`, corrections). */
export function eventHash(event: JsonObject | CustodyEvent): string {
  return toHex(sha256(signedMessage(event)));
}

/** An event's canonical text, signed message and hash, from one canonicalization. */
export interface EventDigest {
  readonly json: string;
  readonly message: Uint8Array;
  readonly hash: string;
}

export function digestEvent(event: CustodyEvent): EventDigest {
  return digestEventJson(canonicalJson(event as unknown as JsonObject));
}

/** digestEvent from the event's canonical text (it must be exactly that, e.g. from a checked leaf). */
export function digestEventJson(json: string): EventDigest {
  const message = signedBytes(json);
  return { json, message, hash: toHex(sha256(message)) };
}

/** An event with its detached signature, as submitted to a node. */
export interface SignedEvent {
  readonly event: CustodyEvent;
  /** Base64 Ed25519 signature over `signedMessage(event)`. */
  readonly sig: string;
}

/** The fields a signer fills in; the key pair supplies `signer` and `key`. */
export type UnsignedEvent = Omit<CustodyEvent, 'signer' | 'key' | 'v'> & Partial<Pick<CustodyEvent, 'v'>>;

/** Signs an event as the key's holder: sets v, signer and key, then signs locally. */
export function signEvent(fields: UnsignedEvent, key: KeyPair): SignedEvent {
  const event = { ...fields, v: 1, signer: key.name, key: key.keyId } as CustodyEvent;
  return { event, sig: toBase64(sign(key.secretKey, signedMessage(event))) };
}

/** The signature bytes, or undefined if they are not even 64 bytes of base64. */
function signatureBytes(sig: string): Uint8Array | undefined {
  try {
    return fromBase64(sig, 64);
  } catch {
    return undefined;
  }
}

/** The signed message, or undefined if the event has no canonical form. */
function messageOf(event: JsonObject | CustodyEvent): Uint8Array | undefined {
  try {
    return signedMessage(event);
  } catch {
    return undefined;
  }
}

/**
 * True if `sig` is a valid signature of `event` by `key` (strict rule, on the
 * fast path that the agreement test holds to the noble reference); never throws.
 */
export function verifyEvent(event: JsonObject | CustodyEvent, sig: string, key: PublicKey): boolean {
  const message = messageOf(event);
  return message !== undefined && verifyEventMessage(message, sig, key);
}

/** verifyEvent for an event's signed message already formed (see digestEvent). */
export function verifyEventMessage(message: Uint8Array, sig: string, key: PublicKey): boolean {
  const memo = memoOf(message, sig, key);
  if (verified.has(memo)) return true;
  const ok = verifyMessage(message, sig, key);
  if (ok) remember(memo);
  return ok;
}

/**
 * verifyEventMessage with the signature checked off the event loop (by
 * `check`: libuv's thread pool unless given a ledger's verification
 * threads); the same memo. Never rejects if `check` does not.
 */
export async function verifyEventMessageAsync(
  message: Uint8Array,
  sig: string,
  key: PublicKey,
  check: (message: Uint8Array, sig: string, key: PublicKey) => Promise<boolean> = verifyMessageAsync,
): Promise<boolean> {
  const memo = memoOf(message, sig, key);
  if (verified.has(memo)) return true;
  // A check already on its way (e.g. started as the entry was read) is shared, not repeated.
  let ok = verifying.get(memo);
  if (ok === undefined) {
    ok = check(message, sig, key).then((valid) => {
      verifying.delete(memo);
      if (valid) remember(memo);
      return valid;
    });
    verifying.set(memo, ok);
  }
  return ok;
}

// Histories check the same entries' signatures on every read; validity is a
// pure function of (message, signature, key), so a verified triple is
// remembered by its SHA-256 digest, which no other triple shares.
const memoOf = (message: Uint8Array, sig: string, key: PublicKey) =>
  toHex(sha256(concat(message, utf8(`\n${sig}\n`), key.bytes)));

function remember(memo: string): void {
  if (verified.size >= MAX_VERIFIED) verified.clear();
  verified.add(memo);
}

/** Digests of verified (message, signature, key) triples; about 100 bytes each. */
const verified = new Set<string>();
/** Checks of triples under way on the thread pool, by digest. */
const verifying = new Map<string, Promise<boolean>>();
const MAX_VERIFIED = 100_000;

/** verifyEvent for a message already formed (see digestEvent); never throws. */
export function verifyMessage(message: Uint8Array, sig: string, key: PublicKey): boolean {
  const signature = signatureBytes(sig);
  return signature !== undefined && verifySignatureFast(key, message, signature);
}

/** verifyMessage on the fast path, off the event loop (see signature.ts); never rejects. */
export async function verifyMessageAsync(message: Uint8Array, sig: string, key: PublicKey): Promise<boolean> {
  const signature = signatureBytes(sig);
  return signature !== undefined && verifySignatureAsync(key, message, signature);
}

/** verifyMessageAsync with the equation on `pool`'s own threads (see verify-pool.ts). */
export function verifyMessageOn(pool: VerifyPool) {
  return async (message: Uint8Array, sig: string, key: PublicKey): Promise<boolean> => {
    const signature = signatureBytes(sig);
    return signature !== undefined && pool.verify(key, message, signature);
  };
}

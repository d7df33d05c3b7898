/** Signing and hashing custody events (DESIGN.md "Events"). */
import { sha256 } from '@noble/hashes/sha2.js';
import { concat, fromBase64, toBase64, toHex, utf8 } from '../bytes.js';
import { canonicalBytes, type JsonObject } from '../canonical.js';
import type { KeyPair } from '../keys.js';
import { type PublicKey, sign, verifySignatureAsync, verifySignatureFast } from '../signature.js';
import type { CustodyEvent } from './schema.js';

/** Domain separation: these signatures are valid as custody events and nowhere else. */
const DOMAIN = utf8('custody/event/v1\n');

/** What is signed: the domain line, then the event's RFC 8785 bytes. */
export function signedMessage(event: JsonObject | CustodyEvent): Uint8Array {
  return concat(DOMAIN, canonicalBytes(event as JsonObject));
}

/** The event hash, by which events refer to each other (`prev`, corrections). */
export function eventHash(event: JsonObject | CustodyEvent): string {
  return toHex(sha256(signedMessage(event)));
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

/** The message and signature bytes to check, or undefined if either cannot even be formed. */
function prepared(
  event: JsonObject | CustodyEvent,
  sig: string,
): { message: Uint8Array; signature: Uint8Array } | undefined {
  try {
    return { signature: fromBase64(sig, 64), message: signedMessage(event) };
  } catch {
    return undefined;
  }
}

/**
 * True if `sig` is a valid signature of `event` by `key` (strict rule, on the
 * fast path that the agreement test holds to the noble reference); never throws.
 */
export function verifyEvent(event: JsonObject | CustodyEvent, sig: string, key: PublicKey): boolean {
  const p = prepared(event, sig);
  return p !== undefined && verifySignatureFast(key, p.message, p.signature);
}

/** The same check on the fast path, off the event loop (see signature.ts); never rejects. */
export async function verifyEventAsync(event: CustodyEvent, sig: string, key: PublicKey): Promise<boolean> {
  const p = prepared(event, sig);
  return p !== undefined && verifySignatureAsync(key, p.message, p.signature);
}

/**
 * SHA-256, the one hash of the ledger (leaves, tree nodes, event hashes,
 * commitments, key ids). OpenSSL's one-shot digest through node:crypto: every
 * event is hashed several times on its way in, and this is two to three times
 * @noble/hashes' speed on 65- to 400-byte inputs (BENCHMARKS.md). The tests
 * hold it to the RFC 9162 and C2SP vectors and to @noble/hashes.
 */
import { hash } from 'node:crypto';

export function sha256(data: Uint8Array): Uint8Array {
  const digest = hash('sha256', data, 'buffer');
  // A plain Uint8Array view, so that callers and tests see one byte type.
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}

/**
 * Salted commitments for sensitive fields (end-user names, EUC numbers): the
 * event carries SHA-256(salt || JCS(value)); the holder keeps salt and value
 * and discloses them to an investigator, who checks them against the log.
 * A salt of at least 128 bits keeps short values from being guessed.
 */

import { randomBytes } from 'node:crypto';
import { concat, equalBytes, fromHex, toHex } from './bytes.js';
import { canonicalBytes, type JsonValue } from './canonical.js';
import { CustodyError } from './errors.js';
import { sha256 } from './hash.js';

export const MIN_SALT_BYTES = 16;

export interface Disclosure {
  readonly value: JsonValue;
  /** Hex salt. */
  readonly salt: string;
}

export function commit(
  value: JsonValue,
  salt: Uint8Array = new Uint8Array(randomBytes(32)),
): { commitment: string; disclosure: Disclosure } {
  if (salt.length < MIN_SALT_BYTES) {
    throw new CustodyError('CUSTODY_BAD_INPUT', `a commitment salt must be at least ${MIN_SALT_BYTES} bytes`);
  }
  return {
    commitment: toHex(sha256(concat(salt, canonicalBytes(value)))),
    disclosure: { value, salt: toHex(salt) },
  };
}

/** True if the disclosure opens the commitment; never throws. */
export function opens(commitment: { commitment: string } | string, disclosure: Disclosure): boolean {
  try {
    const salt = fromHex(disclosure.salt);
    if (salt.length < MIN_SALT_BYTES) return false;
    const want = fromHex(typeof commitment === 'string' ? commitment : commitment.commitment, 32);
    return equalBytes(sha256(concat(salt, canonicalBytes(disclosure.value))), want);
  } catch {
    return false;
  }
}

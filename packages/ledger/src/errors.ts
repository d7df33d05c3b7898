/**
 * Every error that crosses a module border is a CustodyError with one of these
 * stable codes. Callers branch on `code` (the node maps it to `status`, the CLI
 * to an exit code); the message is one sentence a person can act on.
 */
export type ErrorCode =
  /** Input that is not of the expected form: wrong type, bad encoding, out of range. */
  | 'CUSTODY_BAD_INPUT'
  /** A value that RFC 8785 cannot encode (NaN, Infinity, lone surrogate, undefined, bigint…). */
  | 'CUSTODY_NOT_CANONICAL'
  /** An encoded leaf would exceed the 65,535-byte limit of tile entry bundles. */
  | 'CUSTODY_ENTRY_TOO_LARGE'
  /** A signed note that does not follow c2sp.org/signed-note. */
  | 'CUSTODY_BAD_NOTE'
  /** A verifier key (vkey) that does not follow c2sp.org/signed-note. */
  | 'CUSTODY_BAD_VKEY'
  /** A note text that is not a c2sp.org/tlog-checkpoint. */
  | 'CUSTODY_BAD_CHECKPOINT'
  /** A signature from a trusted key failed, or no trusted key signed at all. */
  | 'CUSTODY_BAD_SIGNATURE'
  /** A Merkle proof that does not verify, or a proof request for impossible sizes. */
  | 'CUSTODY_BAD_PROOF'
  /** An index or size beyond the current tree. */
  | 'CUSTODY_OUT_OF_RANGE'
  /** No ledger in the given folder. */
  | 'CUSTODY_NO_LEDGER'
  /** A ledger already exists where a new one was to be created. */
  | 'CUSTODY_LEDGER_EXISTS'
  /** The signing key given does not match the log key recorded in the ledger. */
  | 'CUSTODY_WRONG_LOG_KEY'
  /** The stored tree state contradicts itself or its signed checkpoint. */
  | 'CUSTODY_CORRUPT_STATE'
  /** The ledger has been closed. */
  | 'CUSTODY_CLOSED'
  /** The storage layer failed to read or write. */
  | 'CUSTODY_STORAGE'
  /** An event that does not match the v1 vocabulary; the message names the field. */
  | 'CUSTODY_SCHEMA'
  /** The signer is not a registered party. */
  | 'CUSTODY_UNKNOWN_SIGNER'
  /** The signer has no key with that key ID (or no longer has it). */
  | 'CUSTODY_UNKNOWN_KEY'
  /** The key was revoked; it signs nothing new. */
  | 'CUSTODY_REVOKED_KEY'
  /** The signer's roles do not allow this event type. */
  | 'CUSTODY_ROLE_NOT_ALLOWED'
  /** A licence action by an authority that did not issue the licence. */
  | 'CUSTODY_NOT_ISSUER'
  /** A correction by someone other than the corrected event's signer. */
  | 'CUSTODY_NOT_ORIGINAL_SIGNER'
  /** A different event under an already used (signer, id). */
  | 'CUSTODY_REPLAY'
  /** `prev` is not the current head of the subject's chain. */
  | 'CUSTODY_STALE_PREV'
  /** The event's time lies too far ahead of the node's clock. */
  | 'CUSTODY_FUTURE_TIME'
  /** The event acts on a licence, shipment, party or event the log does not have. */
  | 'CUSTODY_UNKNOWN_SUBJECT'
  /** The event would create a licence, shipment or party that already exists. */
  | 'CUSTODY_SUBJECT_EXISTS'
  /** The first entry of a ledger must be its genesis. */
  | 'CUSTODY_NO_GENESIS'
  /** A ledger has exactly one genesis. */
  | 'CUSTODY_GENESIS_EXISTS'
  /** A party key that is not a valid Ed25519 vkey under the party's id. */
  | 'CUSTODY_BAD_KEY'
  /** A key file that cannot be read or is not a Custody key file. */
  | 'CUSTODY_BAD_KEY_FILE'
  /** Nothing in the log about the serial, shipment, licence or party asked for. */
  | 'CUSTODY_NOT_FOUND'
  /** An evidence bundle or tlog-proof that is not well-formed. */
  | 'CUSTODY_BAD_BUNDLE'
  /** A request body that is not JSON, or JSON with forbidden keys (__proto__, constructor). */
  | 'CUSTODY_BAD_JSON'
  /** A request body over the node's size limit. */
  | 'CUSTODY_TOO_LARGE'
  /** A request body of a type the endpoint does not take. */
  | 'CUSTODY_UNSUPPORTED_MEDIA'
  /** A client over its request rate. */
  | 'CUSTODY_RATE_LIMITED'
  /** The write queue is full; retry after the Retry-After delay. */
  | 'CUSTODY_OVERLOADED'
  /** The node is shutting down or not accepting writes. */
  | 'CUSTODY_UNAVAILABLE'
  /** No such endpoint. */
  | 'CUSTODY_NO_ROUTE'
  /** The request took longer than the node allows. */
  | 'CUSTODY_TIMEOUT'
  /** A fault in the node itself; the message carries the request id to report. */
  | 'CUSTODY_INTERNAL'
  /** A mirror takes no writes; the message names the log to send them to. */
  | 'CUSTODY_READ_ONLY';

/** Marks a CustodyError made by any copy of this module (see `Symbol.hasInstance` below). */
const BRAND = Symbol.for('@custody/ledger CustodyError');

export class CustodyError extends Error {
  override readonly name = 'CustodyError';
  readonly [BRAND] = true;

  /**
   * A process may hold two copies of this module: the `custody` program
   * carries the library in its own bundle, and the node package it starts
   * for `serve` and `demo` imports the library's. An error either copy made
   * is a CustodyError to both. (It has no subclasses; one would need its own check.)
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
  }

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The HTTP status this error maps to where it crosses HTTP. */
    readonly status = 400,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A short, human-readable prefix of a hex hash for messages. */
export function short(hex: string): string {
  return hex.length > 12 ? `${hex.slice(0, 12)}…` : hex;
}

/** Why a file could not be written, as a person reads it (Node's own message when none fits). */
export function whyNotWritten(error: unknown): string {
  switch ((error as { code?: string }).code) {
    case 'ENOENT':
      return 'its folder does not exist';
    case 'ENOTDIR':
      return 'part of its path is a file, not a folder';
    case 'EISDIR':
      return 'it is a folder';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOSPC':
      return 'the disk is full';
    case 'EROFS':
      return 'the file system is read-only';
    default:
      return (error as Error).message;
  }
}

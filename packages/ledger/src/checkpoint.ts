/**
 * Checkpoints (c2sp.org/tlog-checkpoint) and witness cosignatures
 * (c2sp.org/tlog-cosignature, Ed25519 type 0x04) on top of signed notes.
 */
import { concat, equalBytes, fromBase64, MAX_UINT64, parseUint64, toBase64, utf8 } from './bytes.js';
import { CustodyError } from './errors.js';
import { HASH_SIZE, type Hash, verifyConsistency } from './merkle.js';
import {
  formatVkey,
  keyId,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  openNote,
  parseVkey,
  SIG_COSIGNATURE_V1,
  signNote,
  type Vkey,
} from './note.js';
import { parsePublicKey, publicKeyOf, sign, verifySignatureFast } from './signature.js';

export interface Checkpoint {
  readonly origin: string;
  /** Tree size; a bigint because a checkpoint from outside may claim any uint64. */
  readonly size: bigint;
  readonly root: Hash;
  /** Opaque extension lines (not recommended by the spec; kept so the text round-trips). */
  readonly extensions: readonly string[];
}

export function formatCheckpoint(c: Checkpoint): string {
  if (c.origin.length === 0 || c.origin.includes('\n')) {
    throw new CustodyError('CUSTODY_BAD_CHECKPOINT', 'checkpoint origin must be one non-empty line');
  }
  if (c.size < 0n || c.size > MAX_UINT64)
    throw new CustodyError('CUSTODY_BAD_CHECKPOINT', 'tree size out of range');
  if (c.root.length !== HASH_SIZE) throw new CustodyError('CUSTODY_BAD_CHECKPOINT', 'root must be 32 bytes');
  const lines = [c.origin, c.size.toString(), toBase64(c.root), ...c.extensions];
  return `${lines.join('\n')}\n`;
}

/**
 * Whether a tree of `size` leaves with `root` is the checkpoint's tree or,
 * given a consistency proof from `size` to the checkpoint's size, the first
 * part of it: a mirror catching up on a long log holds a prefix of the tree
 * its source signed before it holds the whole.
 */
export function treeLeadsTo(
  checkpoint: Checkpoint,
  size: number,
  root: Hash,
  prefixProof?: readonly Hash[],
): boolean {
  if (prefixProof === undefined) return checkpoint.size === BigInt(size) && equalBytes(checkpoint.root, root);
  return (
    checkpoint.size > BigInt(size) &&
    verifyConsistency(BigInt(size), checkpoint.size, prefixProof, root, checkpoint.root)
  );
}

/** Parses a checkpoint's note text (not the signatures): origin, size, root, extensions. */
export function parseCheckpoint(text: string): Checkpoint {
  const fail = (why: string) => new CustodyError('CUSTODY_BAD_CHECKPOINT', `checkpoint ${why}`);
  if (typeof text !== 'string' || !text.endsWith('\n')) throw fail('text must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw fail('needs origin, size and root lines');
  if (lines.some((l) => l.length === 0)) throw fail('has an empty line');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  let size: bigint;
  let root: Hash;
  try {
    size = parseUint64(sizeText, 'tree size');
    root = fromBase64(rootText, HASH_SIZE, 'root hash');
  } catch (e) {
    throw fail(e instanceof CustodyError ? e.message : 'has a bad size or root');
  }
  return { origin, size, root, extensions };
}

/** A checkpoint signed by its log; the log's key name is its origin. */
export function signCheckpoint(c: Checkpoint, log: NoteSigner): string {
  if (log.name !== c.origin) {
    throw new CustodyError(
      'CUSTODY_BAD_CHECKPOINT',
      `log key "${log.name}" cannot sign for origin "${c.origin}"`,
    );
  }
  return signNote(formatCheckpoint(c), [log]);
}

/** A witness cosignature with the time the witness made it. */
export interface Cosignature {
  readonly name: string;
  readonly keyId: number;
  /** POSIX seconds, never 0. */
  readonly timestamp: bigint;
}

export interface VerifiedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** The note exactly as received, with every signature line. */
  readonly note: string;
  readonly text: string;
  /** Cosignatures from known witnesses, each verified. */
  readonly cosignatures: readonly Cosignature[];
}

export interface OpenCheckpointOptions {
  /**
   * The origin the checkpoint must name; by default the log's key name, as
   * Custody logs sign under their origin (tlog-checkpoint: "SHOULD match").
   */
  readonly origin?: string;
  /** Witnesses whose cosignatures are verified and reported. */
  readonly witnesses?: readonly NoteVerifier[];
}

/**
 * Verifies a checkpoint note: the log's signature must verify and the origin
 * must be the expected one, so a checkpoint of one log is never taken for
 * another's. Cosignatures of known witnesses are verified and returned;
 * whether enough witnesses cosigned is the caller's policy.
 */
export function openCheckpoint(
  note: string,
  log: NoteVerifier,
  options: OpenCheckpointOptions = {},
): VerifiedCheckpoint {
  const opened = openNote(note, [log, ...(options.witnesses ?? [])]);
  const isLog = (s: NoteSignature) => s.name === log.name && s.keyId === log.keyId;
  if (!opened.verified.some(isLog)) {
    throw new CustodyError(
      'CUSTODY_BAD_SIGNATURE',
      `the checkpoint is not signed by the log key ${log.name}`,
      403,
    );
  }
  const checkpoint = parseCheckpoint(opened.text);
  const origin = options.origin ?? log.name;
  if (checkpoint.origin !== origin) {
    throw new CustodyError(
      'CUSTODY_BAD_CHECKPOINT',
      `checkpoint origin "${checkpoint.origin}" is not the expected log "${origin}"`,
      403,
    );
  }
  const cosignatures = opened.verified
    .filter((s) => !isLog(s))
    .map((s) => ({ name: s.name, keyId: s.keyId, timestamp: cosignatureTime(s.signature) }));
  return { checkpoint, note, text: opened.text, cosignatures };
}

const MAX_COSIGNATURE_TIME = (1n << 63n) - 1n;

function cosignatureTime(signature: Uint8Array): bigint {
  return new DataView(signature.buffer, signature.byteOffset, signature.byteLength).getBigUint64(0);
}

/** The message a v1 cosignature signs: a header, the time, then the checkpoint text. */
function cosignedMessage(text: Uint8Array, timestamp: bigint): Uint8Array {
  return concat(utf8(`cosignature/v1\ntime ${timestamp}\n`), text);
}

/** A verifier for Ed25519 cosignatures (type 0x04): signature = u64 timestamp || Ed25519 signature. */
export function cosignatureVerifier(vkey: Vkey | string): NoteVerifier {
  const v = typeof vkey === 'string' ? parseVkey(vkey) : vkey;
  if (v.type !== SIG_COSIGNATURE_V1) {
    throw new CustodyError('CUSTODY_BAD_VKEY', `${v.name} is not a cosignature (0x04) key`);
  }
  const key = parsePublicKey(v.publicKey);
  if (key === undefined)
    throw new CustodyError('CUSTODY_BAD_VKEY', `${v.name}'s key is not a valid Ed25519 key`);
  return {
    name: v.name,
    keyId: v.keyId,
    verify(text, signature) {
      if (signature.length !== 8 + 64) return false;
      const timestamp = cosignatureTime(signature);
      if (timestamp === 0n || timestamp > MAX_COSIGNATURE_TIME) return false;
      return verifySignatureFast(key, cosignedMessage(text, timestamp), signature.subarray(8));
    },
  };
}

/** A witness's cosigning key. */
export interface Cosigner {
  readonly name: string;
  readonly keyId: number;
  readonly vkey: string;
  /** The signature line payload (timestamp || signature) over a checkpoint's text. */
  cosign(text: string, timestamp: bigint): NoteSignature;
}

export function cosigner(name: string, secretKey: Uint8Array): Cosigner {
  const publicKey = publicKeyOf(secretKey);
  const id = keyId(name, SIG_COSIGNATURE_V1, publicKey);
  return {
    name,
    keyId: id,
    vkey: formatVkey(name, SIG_COSIGNATURE_V1, publicKey),
    cosign(text, timestamp) {
      if (timestamp <= 0n || timestamp > MAX_COSIGNATURE_TIME) {
        throw new CustodyError('CUSTODY_BAD_INPUT', 'a cosignature timestamp must be in 1 .. 2^63-1');
      }
      const ts = new Uint8Array(8);
      new DataView(ts.buffer).setBigUint64(0, timestamp);
      const sig = sign(secretKey, cosignedMessage(utf8(text), timestamp));
      return { name, keyId: id, signature: concat(ts, sig) };
    },
  };
}

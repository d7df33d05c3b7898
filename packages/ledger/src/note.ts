/**
 * C2SP signed notes (c2sp.org/signed-note): text signed by one or more keys,
 * the envelope of checkpoints and cosignatures; verifier keys (vkeys); key IDs.
 */

import { concat, fromBase64, fromHex, toBase64, utf8 } from './bytes.js';
import { CustodyError } from './errors.js';
import { sha256 } from './hash.js';
import { type PublicKey, parsePublicKey, publicKeyOf, signerOf, verifySignatureFast } from './signature.js';

/** Signature type bytes (signed-note "Signature types"). */
export const SIG_ED25519 = 0x01;
export const SIG_COSIGNATURE_V1 = 0x04;

/** Verifiers must accept at least 16 signatures; more than this is not a note but an attack on our time. */
export const MAX_NOTE_SIGNATURES = 100;

const DASH = '\u2014 ';

/** Key names are non-empty and contain no Unicode space and no '+'. */
export function isKeyName(name: string): boolean {
  return typeof name === 'string' && name.length > 0 && !/[\s+]/u.test(name) && !/\p{Cc}/u.test(name);
}

/** key ID = SHA-256(name || 0x0A || type || public key)[:4], as a big-endian uint32. */
export function keyId(name: string, type: number, publicKey: Uint8Array): number {
  const digest = sha256(concat(utf8(name), Uint8Array.of(0x0a, type), publicKey));
  return new DataView(digest.buffer, digest.byteOffset).getUint32(0);
}

export const keyIdHex = (id: number): string => id.toString(16).padStart(8, '0');

/** A verifier key: what a client is configured with to trust a log or witness. */
export interface Vkey {
  readonly name: string;
  readonly keyId: number;
  readonly type: number;
  readonly publicKey: Uint8Array;
}

export function formatVkey(name: string, type: number, publicKey: Uint8Array): string {
  if (!isKeyName(name)) throw new CustodyError('CUSTODY_BAD_VKEY', `"${name}" is not a valid key name`);
  return `${name}+${keyIdHex(keyId(name, type, publicKey))}+${toBase64(concat(Uint8Array.of(type), publicKey))}`;
}

/** Parses `name+hex(keyID)+base64(type || key)`; split on the first two '+' only, as base64 may hold '+'. */
export function parseVkey(text: string): Vkey {
  const fail = (why: string) =>
    new CustodyError('CUSTODY_BAD_VKEY', `verifier key ${why}; expected name+keyid+base64`);
  if (typeof text !== 'string') throw fail('is not a string');
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw fail('has fewer than three +-separated parts');
  const name = text.slice(0, first);
  if (!isKeyName(name)) throw fail(`has an invalid name "${name}"`);
  let id: number;
  let key: Uint8Array;
  try {
    id = new DataView(fromHex(text.slice(first + 1, second), 4).buffer).getUint32(0);
    key = fromBase64(text.slice(second + 1));
  } catch {
    throw fail('has a bad key ID or key encoding');
  }
  const type = key[0];
  const publicKey = key.subarray(1);
  if (type !== SIG_ED25519 && type !== SIG_COSIGNATURE_V1) throw fail(`has unsupported type ${type}`);
  if (publicKey.length !== 32) throw fail('does not hold a 32-byte Ed25519 key');
  if (keyId(name, type, publicKey) !== id) throw fail('has a key ID that does not match its name and key');
  return { name, keyId: id, type, publicKey: Uint8Array.from(publicKey) };
}

/** One signature line of a note. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  /** The signature bytes after the key ID (type-specific). */
  readonly signature: Uint8Array;
}

/** Checks signatures of one (name, key ID). */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  verify(text: Uint8Array, signature: Uint8Array): boolean;
}

export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  sign(text: Uint8Array): Uint8Array;
}

function checkedKey(vkey: Vkey): PublicKey {
  const key = parsePublicKey(vkey.publicKey);
  if (key === undefined) {
    throw new CustodyError('CUSTODY_BAD_VKEY', `${vkey.name}'s key is not a valid Ed25519 public key`);
  }
  return key;
}

/** A verifier for plain Ed25519 note signatures (type 0x01). */
export function ed25519Verifier(vkey: Vkey | string): NoteVerifier {
  const v = typeof vkey === 'string' ? parseVkey(vkey) : vkey;
  if (v.type !== SIG_ED25519)
    throw new CustodyError('CUSTODY_BAD_VKEY', `${v.name} is not an Ed25519 (0x01) key`);
  const key = checkedKey(v);
  return { name: v.name, keyId: v.keyId, verify: (text, sig) => verifySignatureFast(key, text, sig) };
}

export function ed25519Signer(name: string, secretKey: Uint8Array): NoteSigner & { vkey: string } {
  const publicKey = publicKeyOf(secretKey);
  const vkey = formatVkey(name, SIG_ED25519, publicKey);
  return { name, keyId: keyId(name, SIG_ED25519, publicKey), vkey, sign: signerOf(secretKey) };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The character rules of the whole note, text and signatures alike. */
function checkNoteCharacters(note: string, fail: (why: string) => CustodyError): void {
  if (typeof note !== 'string') throw fail('is not text');
  // Control characters other than newline would let two readers split a note differently.
  for (let i = 0; i < note.length; i++) {
    const code = note.charCodeAt(i);
    if (code < 0x20 && code !== 0x0a) throw fail('contains a control character');
  }
  if (LONE_SURROGATE.test(note)) throw fail('is not valid UTF-8 (lone surrogate)');
}

/** Splits a note into text and signature lines, enforcing the format but verifying nothing. */
export function parseNote(note: string): { text: string; signatures: NoteSignature[] } {
  const fail = (why: string) => new CustodyError('CUSTODY_BAD_NOTE', `signed note ${why}`);
  checkNoteCharacters(note, fail);
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw fail('has no blank line before its signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) throw fail('does not end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw fail(`has more than ${MAX_NOTE_SIGNATURES} signatures`);
  const signatures = lines.map((line) => {
    if (!line.startsWith(DASH)) throw fail(`has a signature line that does not start with "${DASH}"`);
    const rest = line.slice(DASH.length);
    const space = rest.lastIndexOf(' ');
    const name = rest.slice(0, space);
    if (space < 0 || !isKeyName(name)) throw fail(`has a signature line with a bad key name`);
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(rest.slice(space + 1));
    } catch {
      throw fail(`has a signature by ${name} that is not base64`);
    }
    if (bytes.length < 5) throw fail(`has a signature by ${name} too short to hold a key ID`);
    const id = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
    return { name, keyId: id, signature: bytes.subarray(4) };
  });
  return { text, signatures };
}

export function formatSignatureLine(s: NoteSignature): string {
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, s.keyId);
  return `${DASH}${s.name} ${toBase64(concat(id, s.signature))}\n`;
}

/** Signs `text` (which must end in a newline) with each signer. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  const fail = (why: string) => new CustodyError('CUSTODY_BAD_NOTE', `note text ${why}`);
  checkNoteCharacters(text, fail);
  if (!text.endsWith('\n')) throw fail('must end with a newline');
  if (text.endsWith('\n\n'))
    throw fail('must not end with a blank line (it would be read as the signature separator)');
  if (signers.length === 0) throw fail('needs at least one signer');
  const bytes = utf8(text);
  const lines = signers.map((s) =>
    formatSignatureLine({ name: s.name, keyId: s.keyId, signature: s.sign(bytes) }),
  );
  return `${text}\n${lines.join('')}`;
}

/** Adds signature lines to an existing note, e.g. witness cosignatures. */
export function addSignatures(note: string, signatures: readonly NoteSignature[]): string {
  parseNote(note);
  return note + signatures.map(formatSignatureLine).join('');
}

export interface OpenedNote {
  readonly text: string;
  /** Signatures from known keys, each verified. */
  readonly verified: NoteSignature[];
  /** Signatures from keys we do not know, ignored as the spec requires. */
  readonly unknown: NoteSignature[];
}

/**
 * Verifies a note against known keys (signed-note "Signatures"): a signature
 * whose name and key ID both match a known key must verify, or the whole note
 * is refused; signatures from unknown keys are ignored; at least one known
 * signature must verify.
 */
export function openNote(note: string, verifiers: readonly NoteVerifier[]): OpenedNote {
  const { text, signatures } = parseNote(note);
  const bytes = utf8(text);
  const verified: NoteSignature[] = [];
  const unknown: NoteSignature[] = [];
  for (const sig of signatures) {
    const verifier = verifiers.find((v) => v.name === sig.name && v.keyId === sig.keyId);
    if (verifier === undefined) {
      unknown.push(sig);
    } else if (verifier.verify(bytes, sig.signature)) {
      if (!verified.some((v) => v.name === sig.name && v.keyId === sig.keyId)) verified.push(sig);
    } else {
      throw new CustodyError(
        'CUSTODY_BAD_SIGNATURE',
        `the signature of ${sig.name} (key ${keyIdHex(sig.keyId)}) on this note does not verify; the note was altered or forged`,
        403,
      );
    }
  }
  if (verified.length === 0) {
    const known = verifiers.map((v) => v.name).join(', ') || 'none';
    throw new CustodyError(
      'CUSTODY_BAD_SIGNATURE',
      `no trusted key signed this note (trusted: ${known})`,
      403,
    );
  }
  return { text, verified, unknown };
}

/** @custody/ledger: the public surface. Everything not exported here is internal. */
export type { AuditOptions, AuditProblem, AuditProblemKind, AuditReport } from './audit.js';
export { fromBase64, fromHex, parseUint64, toBase64, toHex } from './bytes.js';
export { canonicalBytes, canonicalJson, type JsonObject, type JsonValue } from './canonical.js';
export {
  type Checkpoint,
  type Cosignature,
  type Cosigner,
  cosignatureVerifier,
  cosigner,
  formatCheckpoint,
  type OpenCheckpointOptions,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  type VerifiedCheckpoint,
} from './checkpoint.js';
export { CustodyError, type ErrorCode } from './errors.js';
export {
  CHAIN_START,
  decodeLeaf,
  type EntryInput,
  encodeLeaf,
  type LeafEntry,
  MAX_LEAF_BYTES,
} from './leaf.js';
export {
  type AppendResult,
  type CreateOptions,
  type ExtraWrites,
  Log,
  type OpenOptions,
  type StoredEntry,
} from './log.js';
export {
  consistencyRanges,
  EMPTY_ROOT,
  type Hash,
  hashChildren,
  hashLeaf,
  inclusionRanges,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';
export {
  addSignatures,
  ed25519Signer,
  ed25519Verifier,
  formatVkey,
  keyId,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  openNote,
  parseNote,
  parseVkey,
  SIG_COSIGNATURE_V1,
  SIG_ED25519,
  signNote,
  type Vkey,
} from './note.js';
export {
  generateSecretKey,
  type PublicKey,
  parsePublicKey,
  publicKeyOf,
  sign,
  verifySignature,
  verifyWithRawKey,
} from './signature.js';

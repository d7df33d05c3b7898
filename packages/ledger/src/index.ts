/** @custody/ledger: the public surface. Everything not exported here is internal. */
export {
  type AuditOptions,
  type AuditProblem,
  type AuditProblemKind,
  type AuditReport,
  firstFound,
  placeLeaf,
} from './audit.js';
export {
  BUNDLE_FORMAT,
  type Bundle,
  type BundleEntry,
  type BundleVerification,
  type Check,
  parseBundle,
  type VerifyOptions,
  verifyBundle,
} from './bundle.js';
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
export { commit, type Disclosure, opens } from './commitment.js';
export { CustodyError, type ErrorCode, whyNotWritten } from './errors.js';
export { describe as describeEvent } from './events/describe.js';
export { type EventProblem, eventProblem, parseEvent } from './events/parse.js';
export {
  type CustodyEvent,
  EVENT_TYPES,
  type EventOfType,
  type EventType,
  eventSchema,
  type LoggedEvent,
  type Policy,
  ROLES,
  type Role,
  VOCABULARY,
} from './events/schema.js';
export {
  digestEventJson,
  eventHash,
  type SignedEvent,
  signEvent,
  signedMessage,
  type UnsignedEvent,
  verifyEvent,
  verifyMessageOn,
} from './events/sign.js';
export { chainOf, indexKeysOf, MAY_SIGN, serialsOf } from './events/vocabulary.js';
export { EMPTY_FRONTIER, extendFrontier, type Frontier, frontierRoot } from './frontier.js';
export {
  type Assessment,
  EventChecker,
  gather,
  type Lookup,
  lookupIn,
  type Subject,
  subjectKey,
  type TimelineItem,
  type Verdict,
  verifyEvents,
} from './history.js';
export { generateKeyPair, type KeyPair, keyPairFrom, readKeyFile, writeKeyFile } from './keys.js';
export {
  CHAIN_START,
  decodeLeaf,
  type EntryInput,
  encodeLeaf,
  type LeafEntry,
  MAX_LEAF_BYTES,
  readLeaf,
} from './leaf.js';
export {
  type EventEntry,
  type History,
  Ledger,
  type LedgerOptions,
  type Outcome,
} from './ledger.js';
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
  formatSignatureLine,
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
export { type Receipt, verifyReceipt } from './receipt.js';
export { type Party, type PartyKey, Registry } from './registry.js';
export { type Flag, type FlagCode, type Focus, judge, SEVERITY, type Severity } from './rules/index.js';
export {
  generateSecretKey,
  type PublicKey,
  parsePublicKey,
  publicKeyOf,
  sign,
  verifySignature,
  verifyWithRawKey,
} from './signature.js';
export {
  encodeEntryBundle,
  parseEntryBundle,
  parseTilePath,
  TILE_WIDTH,
  type TileAddress,
  tilePath,
  tilesOf,
} from './tiles.js';
export { formatTlogProof, parseTlogProof, type TlogProof } from './tlog-proof.js';
export { type VerifyEngine, VerifyPool } from './verify-pool.js';
export {
  LevelWitnessStore,
  Witness,
  type WitnessAnswer,
  type WitnessRecord,
  type WitnessStore,
} from './witness.js';

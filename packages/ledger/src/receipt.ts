/** Receipts: the node's proof, valid offline, that an event is in a signed tree. */
import { fromBase64, fromHex } from './bytes.js';
import { openCheckpoint } from './checkpoint.js';
import { verifyInclusion } from './merkle.js';
import { ed25519Verifier } from './note.js';

export interface Receipt {
  readonly index: number;
  /** Hex RFC 9162 leaf hash of the entry. */
  readonly leafHash: string;
  /** Hex hash of the event's signed message. */
  readonly eventHash: string;
  /** The signed checkpoint the proof leads to. */
  readonly checkpoint: string;
  /** Base64 hashes, the leaf's sibling first. */
  readonly inclusionProof: readonly string[];
}

/**
 * True if the receipt's proof leads its leaf hash to a checkpoint signed by
 * the log key. (That the leaf holds a given event is checked where the leaf
 * is at hand: the leaf hash covers the whole entry.) Never throws.
 */
export function verifyReceipt(receipt: Receipt, logKey: string): boolean {
  try {
    const { checkpoint } = openCheckpoint(receipt.checkpoint, ed25519Verifier(logKey));
    const proof = receipt.inclusionProof.map((p) => fromBase64(p));
    return verifyInclusion(
      BigInt(receipt.index),
      checkpoint.size,
      fromHex(receipt.leafHash, 32),
      proof,
      checkpoint.root,
    );
  } catch {
    return false;
  }
}

/**
 * Hashes of the subtrees the latest appends completed, and of the tree's
 * right edge, by position. They are what a group's receipts are made of:
 * every hash on the inclusion path of an entry just appended is a subtree
 * the append completed (in the group, or straddling its start) or one of
 * the edge before it (wholly to its left), folded where the path reaches the
 * tree's right end. Held here, receipts need no read of the store, and no
 * wait behind the signature checks queued on LevelDB's thread pool.
 *
 * A complete subtree's hash never changes, so a hash held is never stale;
 * only subtrees that are in a committed batch may be added.
 */
import type { Frontier, StoredSubtree } from './frontier.js';
import { frontierLevels } from './frontier.js';
import { HASH_SIZE, type Hash, type Subtree } from './merkle.js';

/** Levels fit in 6 bits: a tree of 2^53 leaves has 54. */
const LEVELS = 64;
/** Beyond this index, index · 64 + level is no longer exact; such subtrees (a log of 2^47 entries) are not held. */
const MAX_INDEX = 2 ** 47;
/** No key: keys are 0 or more. */
const EMPTY = -1;

const keyOf = (s: Subtree) => s.index * LEVELS + s.level;

/**
 * Up to `capacity` hashes in one buffer, found by their keys in an
 * open-addressed table (linear probing, at most half full), all allocated
 * once. As one Uint8Array each in a Map, every hash held was a Uint8Array
 * and an ArrayBuffer that outlived the young generation, two hashes an
 * event: a node's old generation grew 1.02 KB an event from its writes
 * with them, 0.73 without (BENCHMARKS.md item 67).
 */
class Generation {
  private readonly hashes: Uint8Array;
  private readonly keys: Float64Array;
  /** Where the hash of the key at the same position sits in `hashes`, in hashes. */
  private readonly slots: Int32Array;
  private readonly mask: number;
  private count = 0;

  constructor(private readonly capacity: number) {
    this.hashes = new Uint8Array(capacity * HASH_SIZE);
    let size = 2;
    while (size < 2 * capacity) size *= 2;
    this.keys = new Float64Array(size).fill(EMPTY);
    this.slots = new Int32Array(size);
    this.mask = size - 1;
  }

  /** Where `key` is in the table, or the empty position where it would go. */
  private position(key: number): number {
    // Keys are index · 64 + level; mixed so that the recent indices' keys spread over the table.
    let h = Math.imul((key >>> 0) ^ Math.floor(key / 2 ** 32), 0x9e3779b1);
    h ^= h >>> 15;
    let p = h & this.mask;
    while (this.keys[p] !== key && this.keys[p] !== EMPTY) p = (p + 1) & this.mask;
    return p;
  }

  /** Holds the hash under `key`; false, holding nothing, when full and the key is new. */
  set(key: number, hash: Hash): boolean {
    const p = this.position(key);
    if (this.keys[p] !== key) {
      if (this.count === this.capacity) return false;
      this.keys[p] = key;
      this.slots[p] = this.count++;
    }
    this.hashes.set(hash, (this.slots[p] as number) * HASH_SIZE);
    return true;
  }

  /** A copy: the buffer is written over once the generation is cleared. */
  get(key: number): Hash | undefined {
    const p = this.position(key);
    if (this.keys[p] !== key) return undefined;
    const at = (this.slots[p] as number) * HASH_SIZE;
    return this.hashes.slice(at, at + HASH_SIZE);
  }

  clear(): void {
    this.keys.fill(EMPTY);
    this.count = 0;
  }
}

export class RecentSubtrees {
  /**
   * The newest hashes, and the ones before them: when the newest reach
   * `capacity`, they become the older and the older are dropped (their
   * buffers cleared and taken for the newest). Evicting hash by hash from
   * one Map left holes in its table that each later pass from its start
   * skipped: some 50 µs a commit once full, against 12–15 by generations.
   */
  private newer: Generation;
  private older: Generation;

  /** Holds the `capacity` subtrees added last, and up to as many before them; a group of n entries completes about 2n. */
  constructor(capacity: number) {
    this.newer = new Generation(capacity);
    this.older = new Generation(capacity);
  }

  /** Subtrees of a committed batch, or of the committed edge. */
  add(subtrees: Iterable<StoredSubtree>): void {
    for (const s of subtrees) {
      if (s.index >= MAX_INDEX) continue;
      const key = keyOf(s);
      if (this.newer.set(key, s.hash)) continue;
      [this.older, this.newer] = [this.newer, this.older];
      this.newer.clear();
      this.newer.set(key, s.hash);
    }
  }

  get(s: Subtree): Hash | undefined {
    if (s.index >= MAX_INDEX) return undefined;
    const key = keyOf(s);
    return this.newer.get(key) ?? this.older.get(key);
  }
}

/** The complete subtrees a frontier is made of, with their positions. */
export function edgeSubtrees(frontier: Frontier): StoredSubtree[] {
  let start = 0;
  return frontierLevels(frontier.size).map((level, i) => {
    const subtree = { level, index: start / 2 ** level, hash: frontier.hashes[i] as Hash };
    start += 2 ** level;
    return subtree;
  });
}

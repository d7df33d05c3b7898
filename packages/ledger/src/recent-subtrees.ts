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
import type { Hash, Subtree } from './merkle.js';

/** Levels fit in 6 bits: a tree of 2^53 leaves has 54. */
const LEVELS = 64;
/** Beyond this index, index · 64 + level is no longer exact; such subtrees (a log of 2^47 entries) are not held. */
const MAX_INDEX = 2 ** 47;

const keyOf = (s: Subtree) => s.index * LEVELS + s.level;

export class RecentSubtrees {
  /** Oldest first, as a Map keeps insertion order. */
  private readonly hashes = new Map<number, Hash>();

  /** `capacity`: a group of n entries completes about 2n subtrees. */
  constructor(private readonly capacity: number) {}

  /** Subtrees of a committed batch, or of the committed edge. */
  add(subtrees: Iterable<StoredSubtree>): void {
    for (const s of subtrees) {
      if (s.index >= MAX_INDEX) continue;
      const key = keyOf(s);
      this.hashes.delete(key);
      this.hashes.set(key, s.hash);
    }
    for (const key of this.hashes.keys()) {
      if (this.hashes.size <= this.capacity) break;
      this.hashes.delete(key);
    }
  }

  get(s: Subtree): Hash | undefined {
    return s.index < MAX_INDEX ? this.hashes.get(keyOf(s)) : undefined;
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

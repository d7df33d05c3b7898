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
  /**
   * The newest hashes, and the ones before them: when the newest reach
   * `capacity`, they become the older and the older are dropped. Evicting
   * the oldest of one Map entry by entry leaves holes in its table that each
   * later pass from its start skips: some 50 µs a commit once full, against
   * 12–15 this way.
   */
  private newer = new Map<number, Hash>();
  private older = new Map<number, Hash>();

  /** Holds the `capacity` subtrees added last, and up to as many before them; a group of n entries completes about 2n. */
  constructor(private readonly capacity: number) {}

  /** Subtrees of a committed batch, or of the committed edge. */
  add(subtrees: Iterable<StoredSubtree>): void {
    for (const s of subtrees) {
      if (s.index >= MAX_INDEX) continue;
      if (this.newer.size >= this.capacity) {
        this.older = this.newer;
        this.newer = new Map();
      }
      this.newer.set(keyOf(s), s.hash);
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

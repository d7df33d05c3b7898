/**
 * The right edge of an append-only Merkle tree: the hashes of the complete
 * subtrees a tree of `size` leaves decomposes into (one per set bit of size,
 * largest first). It is all an append needs to know, so appends read nothing,
 * and it yields the root without touching storage.
 */
import { CustodyError } from './errors.js';
import { foldSubtrees, type Hash, hashChildren, type Subtree } from './merkle.js';

export interface Frontier {
  readonly size: number;
  /** Hashes of the right-edge subtrees, highest level first. */
  readonly hashes: readonly Hash[];
}

/** A complete subtree created by an append, to be stored. */
export interface StoredSubtree extends Subtree {
  readonly hash: Hash;
}

export const EMPTY_FRONTIER: Frontier = { size: 0, hashes: [] };

/** Levels of the right-edge subtrees of a tree of `size`, highest first. */
export function frontierLevels(size: number): number[] {
  const levels: number[] = [];
  for (let level = 0, rest = size; rest > 0; level++, rest = Math.floor(rest / 2)) {
    if (rest % 2 === 1) levels.push(level);
  }
  return levels.reverse();
}

export function frontierRoot(frontier: Frontier): Hash {
  return foldSubtrees(frontier.hashes);
}

/**
 * Appends leaf hashes. Returns the new frontier and every complete subtree the
 * append completed (each leaf is a level-0 subtree), which is exactly the set
 * of hashes a store must add.
 */
export function extendFrontier(
  frontier: Frontier,
  leafHashes: readonly Hash[],
): { frontier: Frontier; created: StoredSubtree[] } {
  const levels = frontierLevels(frontier.size);
  if (levels.length !== frontier.hashes.length) {
    throw new CustodyError(
      'CUSTODY_CORRUPT_STATE',
      `frontier has ${frontier.hashes.length} hashes, a tree of ${frontier.size} needs ${levels.length}`,
      500,
    );
  }
  const stack = levels.map((level, i) => ({ level, hash: frontier.hashes[i] as Hash }));
  const created: StoredSubtree[] = [];
  let size = frontier.size;
  for (const leafHash of leafHashes) {
    let node = { level: 0, hash: leafHash };
    created.push({ level: 0, index: size, hash: leafHash });
    // The new leaf completes a subtree at every level where the edge already
    // held a left sibling of the same height.
    for (let top = stack.at(-1); top !== undefined && top.level === node.level; top = stack.at(-1)) {
      stack.pop();
      node = { level: node.level + 1, hash: hashChildren(top.hash, node.hash) };
      created.push({ level: node.level, index: Math.floor(size / 2 ** node.level), hash: node.hash });
    }
    stack.push(node);
    size++;
  }
  return { frontier: { size, hashes: stack.map((s) => s.hash) }, created };
}

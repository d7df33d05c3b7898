/**
 * RFC 9162 Merkle trees over SHA-256: hashing, proof plans and verification.
 *
 * A tree is never held in memory here. Every hash a root or a proof needs is
 * the hash of a range of leaves, and every such range splits into complete,
 * aligned subtrees (level, index) whose hashes a store keeps. So a proof is a
 * pure plan (which ranges, hence which subtrees) plus one batched read.
 */

import { concat, equalBytes } from './bytes.js';
import { sha256 } from './hash.js';

export type Hash = Uint8Array;
export const HASH_SIZE = 32;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** RFC 9162 §2.1.1: the hash of the empty tree. */
export const EMPTY_ROOT: Hash = sha256(new Uint8Array(0));

/** RFC 9162 §2.1.1: leaf hashes are domain-separated from interior hashes (second-preimage defence). */
export function hashLeaf(leaf: Uint8Array): Hash {
  return sha256(concat(LEAF_PREFIX, leaf));
}

export function hashChildren(left: Hash, right: Hash): Hash {
  return sha256(concat(NODE_PREFIX, left, right));
}

/** Largest power of two strictly less than n, for n > 1 (the RFC 9162 split point k). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The RFC 9162 §2.1.1 definition, MTH(D[begin:end]), computed directly from
 * leaf hashes. It is the reference the stored, incremental tree is tested and
 * audited against; proofs never need it.
 */
export function rootOf(leafHashes: readonly Hash[], begin = 0, end = leafHashes.length): Hash {
  const n = end - begin;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leafHashes[begin] as Hash;
  const k = splitPoint(n);
  return hashChildren(rootOf(leafHashes, begin, begin + k), rootOf(leafHashes, begin + k, end));
}

/** The leaves [begin, end) of a subtree of an RFC 9162 tree; its hash is one proof element. */
export interface Range {
  readonly begin: number;
  readonly end: number;
}

/** A complete subtree: the 2^level leaves starting at index · 2^level. */
export interface Subtree {
  readonly level: number;
  readonly index: number;
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]): the ranges of an inclusion proof, the leaf's sibling first. */
export function inclusionRanges(index: number, size: number): Range[] {
  const out: Range[] = [];
  // Walk from the root down; every step contributes the sibling subtree, which
  // belongs at the end of the proof, so collect top-down and reverse.
  let begin = 0;
  let end = size;
  while (end - begin > 1) {
    const k = splitPoint(end - begin);
    if (index < begin + k) {
      out.push({ begin: begin + k, end });
      end = begin + k;
    } else {
      out.push({ begin, end: begin + k });
      begin += k;
    }
  }
  return out.reverse();
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]) for 0 < m ≤ n: the ranges of a consistency proof. */
export function consistencyRanges(from: number, to: number): Range[] {
  const out: Range[] = [];
  if (from === to) return out;
  // SUBPROOF(m, D[begin:end], b), unrolled: each step appends one sibling range
  // after the ranges of the recursive call, so collect top-down and reverse.
  let m = from;
  let begin = 0;
  let end = to;
  let complete = true; // b: whether D[begin:end] is a subtree the old root already commits to
  while (m !== end - begin) {
    const k = splitPoint(end - begin);
    if (m <= k) {
      out.push({ begin: begin + k, end });
      end = begin + k;
    } else {
      out.push({ begin, end: begin + k });
      begin += k;
      m -= k;
      complete = false;
    }
  }
  if (!complete) out.push({ begin, end });
  return out.reverse();
}

/**
 * The complete subtrees that make up a range, left to right. A range of an
 * RFC 9162 tree starts at a multiple of the largest power of two not above
 * its length, so greedy largest-first pieces are always aligned.
 */
export function subtreesOf(range: Range): Subtree[] {
  const out: Subtree[] = [];
  let at = range.begin;
  let left = range.end - range.begin;
  while (left > 0) {
    let level = 0;
    while (2 ** (level + 1) <= left) level++;
    const width = 2 ** level;
    out.push({ level, index: at / width });
    at += width;
    left -= width;
  }
  return out;
}

/** The hash of a range from the hashes of its subtrees (as `subtreesOf` lists them). */
export function foldSubtrees(hashes: readonly Hash[]): Hash {
  if (hashes.length === 0) return EMPTY_ROOT;
  let acc = hashes[hashes.length - 1] as Hash;
  for (let i = hashes.length - 2; i >= 0; i--) acc = hashChildren(hashes[i] as Hash, acc);
  return acc;
}

/** Reads the stored hashes of complete subtrees, in the order asked. */
export type SubtreeReader = (subtrees: readonly Subtree[]) => Promise<Hash[]>;

/**
 * The hashes of `ranges`, with all their subtrees fetched in one read. The
 * proofs of a group's receipts share most of their ranges, so each distinct
 * subtree is read once and each distinct range folded once. Keys are
 * numbers, not text: a 1,000-event group's receipts ask for some 20,000
 * ranges, and a string for each was a twentieth of all the group allocated.
 */
export async function hashRanges(ranges: readonly Range[], read: SubtreeReader): Promise<Hash[]> {
  const wanted: Subtree[] = [];
  /** By level: a subtree's index → where it is in `wanted`. */
  const slots: Map<number, number>[] = [];
  const slotOf = (s: Subtree): number => {
    let level = slots[s.level];
    if (level === undefined) {
      level = new Map();
      slots[s.level] = level;
    }
    let slot = level.get(s.index);
    if (slot === undefined) {
      slot = wanted.push(s) - 1;
      level.set(s.index, slot);
    }
    return slot;
  };
  // Most ranges are one complete subtree; the others (a tree's right edge, a
  // few distinct ones) fold several, by begin then end.
  const edges = new Map<number, Map<number, number[]>>();
  const plans = ranges.map((r): number | number[] => {
    const width = r.end - r.begin;
    const level = Math.round(Math.log2(width));
    if (width > 0 && 2 ** level === width && r.begin % width === 0) {
      return slotOf({ level, index: r.begin / width });
    }
    let byEnd = edges.get(r.begin);
    if (byEnd === undefined) {
      byEnd = new Map();
      edges.set(r.begin, byEnd);
    }
    let plan = byEnd.get(r.end);
    if (plan === undefined) {
      plan = subtreesOf(r).map(slotOf);
      byEnd.set(r.end, plan);
    }
    return plan;
  });
  const hashes = await read(wanted);
  const folded = new Map<number[], Hash>();
  return plans.map((plan) => {
    if (typeof plan === 'number') return hashes[plan] as Hash;
    let hash = folded.get(plan);
    if (hash === undefined) {
      hash = foldSubtrees(plan.map((slot) => hashes[slot] as Hash));
      folded.set(plan, hash);
    }
    return hash;
  });
}

/** The root of the tree of the first `size` leaves, from stored subtree hashes. */
export async function rootFromSubtrees(size: number, read: SubtreeReader): Promise<Hash> {
  if (size === 0) return EMPTY_ROOT;
  const [root] = await hashRanges([{ begin: 0, end: size }], read);
  return root as Hash;
}

const isHash = (h: Uint8Array): boolean => h instanceof Uint8Array && h.length === HASH_SIZE;
const isSet = (n: bigint): boolean => (n & 1n) === 1n;

/**
 * RFC 9162 §2.1.3.2: true if `proof` links `leafHash` at `index` to `root` of
 * a tree of `size`. Sizes are bigints so that values from outside stay exact.
 */
export function verifyInclusion(
  index: bigint,
  size: bigint,
  leafHash: Hash,
  proof: readonly Hash[],
  root: Hash,
): boolean {
  if (index < 0n || index >= size || !isHash(leafHash) || !isHash(root)) return false;
  let fn = index;
  let sn = size - 1n;
  let r = leafHash;
  for (const p of proof) {
    if (!isHash(p) || sn === 0n) return false;
    if (isSet(fn) || fn === sn) {
      r = hashChildren(p, r);
      if (!isSet(fn)) {
        while (!isSet(fn) && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equalBytes(r, root);
}

/**
 * RFC 9162 §2.1.4.2: true if `proof` shows that the tree of `size2` with root
 * `root2` extends the tree of `size1` with `root1`. Both recomputed roots are
 * checked; a proof from size 0 is refused (nothing to be consistent with), and
 * equal sizes need an empty proof and equal roots.
 */
export function verifyConsistency(
  size1: bigint,
  size2: bigint,
  proof: readonly Hash[],
  root1: Hash,
  root2: Hash,
): boolean {
  if (size1 <= 0n || size1 > size2) return false;
  // Equal sizes claim only that the roots are equal (transparency-dev probes
  // accept this whatever the roots' length).
  if (size1 === size2) return proof.length === 0 && equalBytes(root1, root2);
  if (!isHash(root1) || !isHash(root2) || proof.length === 0 || !proof.every(isHash)) return false;

  // A size1 that is a power of two is itself a complete subtree of the new
  // tree, so its root is the proof's implicit first element.
  const path = (size1 & (size1 - 1n)) === 0n ? [root1, ...proof] : [...proof];
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  while (isSet(fn)) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0] as Hash;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if (isSet(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (!isSet(fn)) {
        while (!isSet(fn) && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equalBytes(fr, root1) && equalBytes(sr, root2);
}

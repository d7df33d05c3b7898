import { fc, test as prop } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { toHex } from '../src/bytes.js';
import { EMPTY_FRONTIER, extendFrontier } from '../src/frontier.js';
import { type Hash, hashLeaf, inclusionRanges, rootOf, subtreesOf } from '../src/merkle.js';
import { edgeSubtrees, RecentSubtrees } from '../src/recent-subtrees.js';

const leaf = (n: number) => hashLeaf(new TextEncoder().encode(`entry ${n}`));

/** Appends groups of the given sizes; after each, what the log does with its cache, and a check. */
function appendAll(
  groups: readonly number[],
  capacity: number,
  check: (cache: RecentSubtrees, leaves: readonly Hash[], first: number) => void,
): void {
  const cache = new RecentSubtrees(capacity);
  const leaves: Hash[] = [];
  let frontier = EMPTY_FRONTIER;
  for (const size of groups) {
    const first = leaves.length;
    const group = Array.from({ length: size }, (_, i) => leaf(first + i));
    leaves.push(...group);
    const extended = extendFrontier(frontier, group);
    frontier = extended.frontier;
    cache.add(extended.created);
    cache.add(edgeSubtrees(frontier));
    check(cache, leaves, first);
  }
}

describe('recent subtrees', () => {
  prop.prop(
    [
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 1, max: 64 }),
    ],
    { numRuns: 150 },
  )('a hash held is the subtree’s own, whatever was evicted', (groups, capacity) => {
    appendAll(groups, capacity, (cache, leaves) => {
      for (let level = 0; 2 ** level <= leaves.length; level++) {
        for (let index = 0; (index + 1) * 2 ** level <= leaves.length; index++) {
          const held = cache.get({ level, index });
          if (held === undefined) continue;
          expect(toHex(held)).toBe(toHex(rootOf(leaves, index * 2 ** level, (index + 1) * 2 ** level)));
        }
      }
    });
  });

  prop.prop(
    [
      fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 10 }),
      fc.integer({ min: 0, max: 2 }),
    ],
    { numRuns: 60 },
  )('holds every subtree of the receipts of the group just appended', (groups, spare) => {
    // Room for a group's created subtrees (fewer than 2n) and the edge (a hash per level).
    const capacity = 2 * Math.max(...groups) + 16 + spare;
    appendAll(groups, capacity, (cache, leaves, first) => {
      for (let i = first; i < leaves.length; i++) {
        for (const range of inclusionRanges(i, leaves.length)) {
          for (const s of subtreesOf(range)) expect(cache.get(s)).toBeDefined();
        }
      }
    });
  });

  prop.prop(
    [
      fc.uniqueArray(
        fc.record({
          index: fc.oneof(fc.nat(64), fc.integer({ min: 0, max: 2 ** 47 - 1 })),
          level: fc.integer({ min: 0, max: 63 }),
          hash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        }),
        { selector: (s) => `${s.index}/${s.level}`, minLength: 1, maxLength: 300 },
      ),
      fc.integer({ min: 1, max: 300 }),
    ],
    { numRuns: 100 },
  )(
    'finds each of the last `capacity` subtrees added by its position, anywhere in a log of 2^47 entries',
    (added, capacity) => {
      const cache = new RecentSubtrees(capacity);
      cache.add(added);
      const kept = added.slice(-capacity);
      for (const s of kept) expect(toHex(cache.get(s) as Hash)).toBe(toHex(s.hash));
      // Positions next to the ones held, not added: never another's hash.
      const positions = new Set(added.map((s) => `${s.index}/${s.level}`));
      for (const { index, level } of kept) {
        for (const near of [
          { index: index + 1, level },
          { index, level: (level + 1) % 64 },
        ]) {
          if (!positions.has(`${near.index}/${near.level}`)) expect(cache.get(near)).toBeUndefined();
        }
      }
      // Beyond 2^47 entries positions are not exact as keys: never held.
      cache.add([{ index: 2 ** 47, level: 0, hash: new Uint8Array(32) }]);
      expect(cache.get({ index: 2 ** 47, level: 0 })).toBeUndefined();
    },
  );

  test('a hash handed out keeps its bytes while later subtrees take its place in the buffers', () => {
    const cache = new RecentSubtrees(4);
    const hashes = Array.from({ length: 20 }, (_, i) => leaf(i));
    cache.add([{ index: 0, level: 0, hash: hashes[0] as Hash }]);
    const held = cache.get({ index: 0, level: 0 }) as Hash;
    cache.add(hashes.map((hash, i) => ({ index: i + 1, level: 0, hash })));
    expect(toHex(held)).toBe(toHex(hashes[0] as Hash));
    expect(cache.get({ index: 0, level: 0 })).toBeUndefined();
  });

  prop.prop([fc.integer({ min: 0, max: 5000 })], { numRuns: 60 })(
    'the edge’s subtrees tile the tree from the left, each with its hash',
    (size) => {
      const leaves = Array.from({ length: size }, (_, i) => leaf(i));
      const { frontier } = extendFrontier(EMPTY_FRONTIER, leaves);
      let start = 0;
      for (const s of edgeSubtrees(frontier)) {
        expect(s.index * 2 ** s.level).toBe(start);
        expect(toHex(s.hash)).toBe(toHex(rootOf(leaves, start, start + 2 ** s.level)));
        start += 2 ** s.level;
      }
      expect(start).toBe(size);
    },
  );
});

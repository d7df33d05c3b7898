import { fc, test as prop } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { fromHex, toHex } from '../src/bytes.js';
import { EMPTY_FRONTIER, extendFrontier, frontierRoot } from '../src/frontier.js';
import {
  consistencyRanges,
  EMPTY_ROOT,
  type Hash,
  hashLeaf,
  hashRanges,
  inclusionRanges,
  type Range,
  rootOf,
  type Subtree,
  verifyConsistency,
  verifyInclusion,
} from '../src/merkle.js';
import { parseWithBigInts, vectorFiles, vectorText } from './vectors.js';

const b64 = (s: unknown): Uint8Array => new Uint8Array(Buffer.from((s as string | null) ?? '', 'base64'));
const b64list = (l: unknown): Uint8Array[] => ((l as string[] | null) ?? []).map(b64);

/** The 8 leaves of the transparency-dev/merkle test tree (vectors/README.md). */
const LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map((h) => hashLeaf(h === '' ? new Uint8Array(0) : fromHex(h)));

/** Reference proof: the hashes of the planned ranges, each computed from the leaf hashes by the RFC definition. */
const proofFrom = (leaves: readonly Hash[], ranges: Range[]) =>
  ranges.map((r) => rootOf(leaves, r.begin, r.end));

describe('RFC 9162 roots', () => {
  const table = [...vectorText('README.md').matchAll(/\| (\d) \| `([0-9a-f]{64})` \|/g)];
  test('the README lists roots for sizes 0..8', () =>
    expect(table.map((m) => m[1])).toEqual('012345678'.split('')));
  test.each(table.map((m) => [Number(m[1]), m[2] as string]))('root of the first %i leaves', (n, root) => {
    expect(toHex(rootOf(LEAVES.slice(0, n)))).toBe(root);
    const { frontier } = extendFrontier(EMPTY_FRONTIER, LEAVES.slice(0, n));
    expect(toHex(frontierRoot(frontier))).toBe(root);
  });
  test('the empty root is SHA-256 of nothing', () => expect(toHex(EMPTY_ROOT)).toBe(table[0]?.[2]));
});

describe('transparency-dev inclusion probes', () => {
  const probes = vectorFiles('merkle/inclusion').map(({ name, text }) => ({
    name,
    v: parseWithBigInts(text, ['leafIdx', 'treeSize']),
  }));
  test('there are probes of both kinds', () => {
    expect(probes.filter((p) => p.v.wantErr === false).length).toBeGreaterThan(0);
    expect(probes.filter((p) => p.v.wantErr === true).length).toBeGreaterThan(40);
  });
  test.each(probes.map((p) => [p.name, p.v.desc, p.v] as const))('%s (%s)', (_name, _desc, v) => {
    const ok = verifyInclusion(
      v.leafIdx as bigint,
      v.treeSize as bigint,
      b64(v.leafHash),
      b64list(v.proof),
      b64(v.root),
    );
    expect(ok).toBe(v.wantErr === false);
  });
});

describe('transparency-dev consistency probes', () => {
  const probes = vectorFiles('merkle/consistency').map(({ name, text }) => ({
    name,
    v: parseWithBigInts(text, ['size1', 'size2']),
  }));
  test.each(probes.map((p) => [p.name, p.v.desc, p.v] as const))('%s (%s)', (_name, _desc, v) => {
    const ok = verifyConsistency(
      v.size1 as bigint,
      v.size2 as bigint,
      b64list(v.proof),
      b64(v.root1),
      b64(v.root2),
    );
    expect(ok).toBe(v.wantErr === false);
  });
});

describe('proof plans reproduce the published proofs', () => {
  const happy = vectorFiles('merkle')
    .filter(
      ({ name }) =>
        name.includes('happy-path') && !name.startsWith('consistency/0') && !name.includes('inclusion/0'),
    )
    .map(({ name, text }) => ({
      name,
      v: parseWithBigInts(text, ['leafIdx', 'treeSize', 'size1', 'size2']),
    }));
  test.each(happy.map((h) => [h.name, h.v] as const))('%s', (name, v) => {
    const ranges = name.startsWith('inclusion')
      ? inclusionRanges(Number(v.leafIdx), Number(v.treeSize))
      : consistencyRanges(Number(v.size1), Number(v.size2));
    const want = b64list(v.proof).map(toHex);
    expect(proofFrom(LEAVES, ranges).map(toHex)).toEqual(want);
  });
});

/** A random tree: n distinct leaf hashes. */
const leavesOf = (n: number, seed: number): Hash[] =>
  Array.from({ length: n }, (_, i) => hashLeaf(Uint8Array.of(seed & 0xff, i & 0xff, (i >> 8) & 0xff)));

const flipBit = (h: Uint8Array, bit: number): Uint8Array => {
  const out = Uint8Array.from(h);
  out[(bit >> 3) % out.length] = (out[(bit >> 3) % out.length] as number) ^ (1 << (bit & 7));
  return out;
};

describe('properties of random trees', () => {
  prop.prop([fc.integer({ min: 1, max: 140 }), fc.integer({ min: 0, max: 255 })], { numRuns: 40 })(
    'every inclusion proof of every leaf verifies',
    (n, seed) => {
      const leaves = leavesOf(n, seed);
      const root = rootOf(leaves);
      for (let i = 0; i < n; i++) {
        const proof = proofFrom(leaves, inclusionRanges(i, n));
        expect(verifyInclusion(BigInt(i), BigInt(n), leaves[i] as Hash, proof, root)).toBe(true);
      }
    },
  );

  prop.prop([fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 255 })], { numRuns: 25 })(
    'every consistency proof between any two sizes verifies',
    (n, seed) => {
      const leaves = leavesOf(n, seed);
      const roots = Array.from({ length: n + 1 }, (_, m) => rootOf(leaves.slice(0, m)));
      // The n²/2 proofs share their ranges: each range's reference hash is computed once.
      const hashes = new Map<string, Hash>();
      const rangeHash = (r: Range) => {
        const key = `${r.begin}:${r.end}`;
        const known = hashes.get(key) ?? rootOf(leaves, r.begin, r.end);
        hashes.set(key, known);
        return known;
      };
      for (let m = 1; m <= n; m++) {
        for (let k = m; k <= n; k++) {
          const proof = consistencyRanges(m, k).map(rangeHash);
          expect(verifyConsistency(BigInt(m), BigInt(k), proof, roots[m] as Hash, roots[k] as Hash)).toBe(
            true,
          );
        }
      }
    },
  );

  prop.prop(
    [
      fc.integer({ min: 1, max: 300 }).chain((n) =>
        fc.record({
          n: fc.constant(n),
          proofs: fc.array(
            fc.record({
              i: fc.nat(n - 1),
              m: fc.integer({ min: 1, max: n }),
              to: fc.integer({ min: 1, max: n }),
            }),
            { minLength: 1, maxLength: 20 },
          ),
        }),
      ),
      fc.integer({ min: 0, max: 255 }),
    ],
    { numRuns: 100 },
  )(
    'the ranges of many proofs hashed together: each its own hash, each subtree read once',
    async ({ n, proofs }, seed) => {
      const leaves = leavesOf(n, seed);
      // Inclusion and consistency ranges in trees of several sizes: complete subtrees, right edges, repeats.
      const ranges = proofs.flatMap(({ i, m, to }) => [
        ...inclusionRanges(Math.min(i, to - 1), to),
        ...consistencyRanges(Math.min(m, to), to),
      ]);
      const asked: string[] = [];
      const read = async (subtrees: readonly Subtree[]) =>
        subtrees.map(({ level, index }) => {
          asked.push(`${level}:${index}`);
          return rootOf(leaves, index * 2 ** level, (index + 1) * 2 ** level);
        });
      const hashes = await hashRanges(ranges, read);
      expect(hashes.map(toHex)).toEqual(ranges.map((r) => toHex(rootOf(leaves, r.begin, r.end))));
      expect(new Set(asked).size).toBe(asked.length);
    },
  );

  const inclusionCase = fc
    .integer({ min: 2, max: 300 })
    .chain((n) =>
      fc.record({ n: fc.constant(n), i: fc.integer({ min: 0, max: n - 1 }), bit: fc.nat(32 * 8 * 12 - 1) }),
    );

  prop.prop([inclusionCase], { numRuns: 300 })(
    'a single-bit change to an inclusion proof, root or leaf is rejected',
    ({ n, i, bit }) => {
      const leaves = leavesOf(n, 7);
      const root = rootOf(leaves);
      const proof = proofFrom(leaves, inclusionRanges(i, n));
      const leaf = leaves[i] as Hash;
      const at = bit % (proof.length * 256);
      const mutated = proof.map((p, j) => (j === Math.floor(at / 256) ? flipBit(p, at % 256) : p));
      expect(verifyInclusion(BigInt(i), BigInt(n), leaf, mutated, root)).toBe(false);
      expect(verifyInclusion(BigInt(i), BigInt(n), leaf, proof, flipBit(root, bit % 256))).toBe(false);
      expect(verifyInclusion(BigInt(i), BigInt(n), flipBit(leaf, bit % 256), proof, root)).toBe(false);
    },
  );

  /**
   * Which side each proof hash joins on, leaf first. RFC 9162 verification
   * sees nothing else of the size: two sizes that give a leaf the same path
   * (leaf 0 in trees of 5 and 6, say) accept the same proof, by design. What
   * binds a size to its root is the checkpoint signature (checkpoint tests).
   */
  const pathShape = (i: number, n: number) =>
    inclusionRanges(i, n)
      .map((r) => (r.begin < i ? 'L' : 'R'))
      .join('');

  prop.prop([inclusionCase], { numRuns: 300 })(
    'a changed index is rejected; a changed size is rejected exactly when it changes the path',
    ({ n, i, bit }) => {
      const leaves = leavesOf(n, 9);
      const root = rootOf(leaves);
      const proof = proofFrom(leaves, inclusionRanges(i, n));
      const leaf = leaves[i] as Hash;
      const b = BigInt(bit % 64);
      expect(verifyInclusion(BigInt(i) ^ (1n << b), BigInt(n), leaf, proof, root)).toBe(false);
      const n2 = BigInt(n) ^ (1n << b);
      const same = n2 > BigInt(i) && n2 < 4096n && pathShape(i, Number(n2)) === pathShape(i, n);
      expect(verifyInclusion(BigInt(i), n2, leaf, proof, root)).toBe(same);
    },
  );

  const consistencyCase = fc
    .integer({ min: 2, max: 200 })
    .chain((n) =>
      fc.record({ n: fc.constant(n), m: fc.integer({ min: 1, max: n - 1 }), bit: fc.nat(32 * 8 * 12 - 1) }),
    );

  prop.prop([consistencyCase], { numRuns: 300 })(
    'a single-bit change to a consistency proof or root is rejected, and so is a size that reshapes it',
    ({ n, m, bit }) => {
      const leaves = leavesOf(n, 3);
      const r1 = rootOf(leaves.slice(0, m));
      const r2 = rootOf(leaves);
      const proof = proofFrom(leaves, consistencyRanges(m, n));
      const M = BigInt(m);
      const N = BigInt(n);
      const at = bit % (proof.length * 256);
      const mutated = proof.map((p, j) => (j === Math.floor(at / 256) ? flipBit(p, at % 256) : p));
      expect(verifyConsistency(M, N, proof, r1, r2)).toBe(true);
      expect(verifyConsistency(M, N, mutated, r1, r2)).toBe(false);
      expect(verifyConsistency(M, N, proof, flipBit(r1, bit % 256), r2)).toBe(false);
      expect(verifyConsistency(M, N, proof, r1, flipBit(r2, bit % 256))).toBe(false);
      // As with inclusion, sizes are bound by checkpoint signatures; here we
      // require only that a size change which changes the proof's length fails.
      const b = BigInt(bit % 64);
      const plan = (a: bigint, z: bigint) =>
        a > 0n && a <= z && z < 4096n
          ? consistencyRanges(Number(a), Number(z)).length + ((a & (a - 1n)) === 0n ? 1 : 0)
          : -1;
      for (const [m2, n2] of [
        [M ^ (1n << b), N],
        [M, N ^ (1n << b)],
      ] as const) {
        if (plan(m2, n2) !== plan(M, N)) expect(verifyConsistency(m2, n2, proof, r1, r2)).toBe(false);
      }
    },
  );

  test('truncated and extended proofs are rejected', () => {
    const leaves = leavesOf(37, 1);
    const root = rootOf(leaves);
    const proof = proofFrom(leaves, inclusionRanges(11, 37));
    expect(verifyInclusion(11n, 37n, leaves[11] as Hash, proof.slice(0, -1), root)).toBe(false);
    expect(verifyInclusion(11n, 37n, leaves[11] as Hash, [...proof, root], root)).toBe(false);
  });

  test('sizes beyond 2^53 are handled exactly, not rounded', () => {
    // 2^53 + 1 and 2^53 are the same JavaScript number; as bigints they are
    // different sizes, and a proof for one is not a proof for the other.
    const big = 2n ** 53n;
    const leaves = leavesOf(2, 5);
    const root = rootOf(leaves);
    expect(verifyInclusion(big, big + 1n, leaves[0] as Hash, [], root)).toBe(false);
    expect(verifyInclusion(2n ** 64n - 1n, 2n ** 64n, leaves[0] as Hash, [leaves[1] as Hash], root)).toBe(
      false,
    );
  });
});

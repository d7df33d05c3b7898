import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { toHex } from '../src/bytes.js';
import { openCheckpoint } from '../src/checkpoint.js';
import type { EntryInput } from '../src/leaf.js';
import { Log } from '../src/log.js';
import { hashLeaf, verifyConsistency, verifyInclusion } from '../src/merkle.js';
import { ed25519Verifier } from '../src/note.js';
import { generateSecretKey } from '../src/signature.js';
import { indexKey, Store, subtreeKey } from '../src/store.js';
import { failsWith, rawDb, tempDir } from './helpers.js';

const ORIGIN = 'custody.test/log';
const RECEIVED = '2026-11-22T10:00:00.000Z';

const input = (n: number): EntryInput => ({
  received: RECEIVED,
  event: { type: 'test', n, serials: [`SN-${n}`] },
  sig: Buffer.from(`sig-${n}`).toString('base64'),
});

/** A deterministic pseudo-random sequence, so failures can be replayed. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (max: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % max;
  };
}

/** RFC 9162 MTH with node:crypto, independent of the code under test. */
function referenceRoot(leafHashes: Buffer[]): Buffer {
  const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
  const mth = (lo: number, hi: number): Buffer => {
    if (hi - lo === 0) return sha();
    if (hi - lo === 1) return leafHashes[lo] as Buffer;
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    return sha(Buffer.of(1), mth(lo, lo + k), mth(lo + k, hi));
  };
  return mth(0, leafHashes.length);
}

describe('a ledger of 100,000 entries', () => {
  const dir = join(tempDir(), 'ledger');
  const secretKey = generateSecretKey();
  const TOTAL = 100_000;
  const checkpoints: string[] = [];

  test('appends in groups of varying size, reopens, and has the root recomputed from its raw leaves', async () => {
    let ledger = await Log.create(dir, { origin: ORIGIN, secretKey });
    checkpoints.push(ledger.checkpoint);
    const next = rng(2026);
    let n = 0;
    while (n < TOTAL) {
      const group = Math.min(TOTAL - n, 1 + next(next(2) === 0 ? 10 : 2500));
      const result = await ledger.append(Array.from({ length: group }, (_, i) => input(n + i)));
      expect(result.firstIndex).toBe(n);
      n += group;
      checkpoints.push(result.checkpoint);
    }
    const root = toHex(ledger.root);
    await ledger.close();

    // Read every leaf straight from LevelDB and hash with node:crypto.
    const raw = await rawDb(dir);
    const hashes: Buffer[] = [];
    let expected = 0;
    for await (const [key, leaf] of raw.leaves.iterator()) {
      expect(Buffer.from(key).equals(Buffer.from(indexKey(expected)))).toBe(true);
      const entry = JSON.parse(Buffer.from(leaf).toString('utf8'));
      expect(entry.event.n).toBe(expected);
      hashes.push(createHash('sha256').update(Buffer.of(0)).update(leaf).digest());
      expected++;
    }
    await raw.db.close();
    expect(hashes).toHaveLength(TOTAL);
    expect(referenceRoot(hashes).toString('hex')).toBe(root);

    ledger = await Log.open(dir, { secretKey });
    expect(ledger.size).toBe(TOTAL);
    expect(toHex(ledger.root)).toBe(root);
    const cp = openCheckpoint(ledger.checkpoint, ed25519Verifier(ledger.logVkey)).checkpoint;
    expect(cp.size).toBe(BigInt(TOTAL));
    expect(toHex(cp.root)).toBe(root);
    await ledger.close();
  }, 120_000);

  test('inclusion proofs of random entries verify against signed checkpoints', async () => {
    const ledger = await Log.open(dir);
    const log = ed25519Verifier(ledger.logVkey);
    const next = rng(7);
    for (let t = 0; t < 300; t++) {
      const { checkpoint } = openCheckpoint(checkpoints[1 + next(checkpoints.length - 1)] as string, log);
      const size = Number(checkpoint.size);
      const index = next(size);
      const { leafHash } = await ledger.entry(index);
      const proof = await ledger.inclusionProof(index, size);
      expect(verifyInclusion(BigInt(index), checkpoint.size, leafHash, proof, checkpoint.root)).toBe(true);
      expect(
        verifyInclusion(
          BigInt(index),
          checkpoint.size,
          hashLeaf(new Uint8Array([1])),
          proof,
          checkpoint.root,
        ),
      ).toBe(false);
    }
    await ledger.close();
  }, 60_000);

  test('consistency proofs between random pairs of signed checkpoints verify', async () => {
    const ledger = await Log.open(dir);
    const log = ed25519Verifier(ledger.logVkey);
    const next = rng(11);
    for (let t = 0; t < 300; t++) {
      const a = openCheckpoint(checkpoints[1 + next(checkpoints.length - 1)] as string, log).checkpoint;
      const b = openCheckpoint(checkpoints[1 + next(checkpoints.length - 1)] as string, log).checkpoint;
      const [older, newer] = a.size <= b.size ? [a, b] : [b, a];
      const proof = await ledger.consistencyProof(older.size, newer.size);
      expect(verifyConsistency(older.size, newer.size, proof, older.root, newer.root)).toBe(true);
      expect(toHex(await ledger.rootAt(older.size))).toBe(toHex(older.root));
    }
    await ledger.close();
  }, 60_000);

  test('the audit of the whole log is clean', async () => {
    const ledger = await Log.open(dir);
    const progress: number[] = [];
    const report = await ledger.audit({ onProgress: (done) => progress.push(done) });
    expect(report).toEqual({ ok: true, size: TOTAL, checked: TOTAL });
    expect(progress.at(-1)).toBe(TOTAL);
    await ledger.close();
  }, 60_000);
});

/** A small ledger in a fresh folder, closed, for a test to tamper with. */
async function smallLedger(size = 5000) {
  const dir = join(tempDir(), 'ledger');
  const secretKey = generateSecretKey();
  const ledger = await Log.create(dir, { origin: ORIGIN, secretKey });
  for (let n = 0; n < size; n += 1000) {
    await ledger.append(Array.from({ length: Math.min(1000, size - n) }, (_, i) => input(n + i)));
  }
  await ledger.close();
  return { dir, secretKey };
}

async function auditOf(dir: string) {
  const ledger = await Log.open(dir);
  try {
    return await ledger.audit();
  } finally {
    await ledger.close();
  }
}

describe('audit names what was changed behind the ledger’s back', () => {
  test('one byte of a stored leaf', async () => {
    const { dir } = await smallLedger();
    const raw = await rawDb(dir);
    const leaf = Buffer.from((await raw.leaves.get(indexKey(1234))) as Uint8Array);
    const at = leaf.indexOf('SN-1234') + 6;
    leaf[at] = '5'.charCodeAt(0);
    await raw.leaves.put(indexKey(1234), leaf);
    await raw.db.close();
    const report = await auditOf(dir);
    expect(report.ok).toBe(false);
    expect(report.problem).toMatchObject({ kind: 'leaf-hash', index: 1234 });
    expect(report.checked).toBe(1234);
  });

  test('entry checks answering late, chunks apart, still give the first problem in log order', async () => {
    const { dir } = await smallLedger();
    const raw = await rawDb(dir);
    const leaf = Buffer.from((await raw.leaves.get(indexKey(3000))) as Uint8Array);
    leaf[leaf.indexOf('SN-3000') + 6] = '5'.charCodeAt(0);
    await raw.leaves.put(indexKey(3000), leaf);
    await raw.db.close();
    const ledger = await Log.open(dir);
    // `slow` answer after later entries (and chunks) have been read; `quick` at once.
    const auditWith = async (slow: number[], quick: number[] = [], failing: number[] = []) => {
      const progress: number[] = [];
      const report = await ledger.audit({
        onProgress: (done) => progress.push(done),
        checkEntry: (_entry, index) => {
          if (failing.includes(index)) return Promise.reject(new Error(`check of ${index} failed`));
          if (quick.includes(index)) return `entry ${index} is bad`;
          if (!slow.includes(index)) return undefined;
          return new Promise((resolve) => setTimeout(() => resolve(`entry ${index} is bad`), 100));
        },
      });
      expect(progress.at(-1)).toBe(report.checked);
      return { kind: report.problem?.kind, index: report.problem?.index, checked: report.checked };
    };
    expect(await auditWith([100], [2000])).toEqual({ kind: 'entry', index: 100, checked: 100 });
    expect(await auditWith([2000])).toEqual({ kind: 'entry', index: 2000, checked: 2000 });
    expect(await auditWith([2999])).toEqual({ kind: 'entry', index: 2999, checked: 2999 });
    expect(await auditWith([4000])).toEqual({ kind: 'leaf-hash', index: 3000, checked: 3000 });
    // A check failing after the problem named is observed, not left to reject unhandled.
    expect(await auditWith([100], [], [101, 700, 2999])).toEqual({ kind: 'entry', index: 100, checked: 100 });
    await expect(auditWith([], [], [700])).rejects.toThrow('check of 700 failed');
    await ledger.close();
  });

  test('a leaf changed so it no longer parses', async () => {
    const { dir } = await smallLedger();
    const raw = await rawDb(dir);
    const leaf = Buffer.from((await raw.leaves.get(indexKey(4321))) as Uint8Array);
    leaf[0] = 0x20;
    await raw.leaves.put(indexKey(4321), leaf);
    await raw.db.close();
    expect((await auditOf(dir)).problem).toMatchObject({ kind: 'malformed-entry', index: 4321 });
  });

  test('one stored subtree hash', async () => {
    const { dir } = await smallLedger();
    const raw = await rawDb(dir);
    await raw.tree.put(subtreeKey(3, 100), new Uint8Array(32).fill(9));
    await raw.db.close();
    const report = await auditOf(dir);
    expect(report.problem).toMatchObject({
      kind: 'subtree-hash',
      index: 800,
      subtree: { level: 3, index: 100 },
    });
    expect(report.problem?.message).toContain('entries 800..807');
  });

  test('one stored leaf hash', async () => {
    const { dir } = await smallLedger();
    const raw = await rawDb(dir);
    await raw.tree.put(subtreeKey(0, 77), new Uint8Array(32));
    await raw.db.close();
    expect((await auditOf(dir)).problem).toMatchObject({ kind: 'leaf-hash', index: 77 });
  });

  test('a deleted entry', async () => {
    const { dir } = await smallLedger();
    const raw = await rawDb(dir);
    await raw.leaves.del(indexKey(2000));
    await raw.db.close();
    expect((await auditOf(dir)).problem).toMatchObject({ kind: 'missing-entry', index: 2000 });
  });

  test('the last entry deleted', async () => {
    const { dir } = await smallLedger();
    const raw = await rawDb(dir);
    await raw.leaves.del(indexKey(4999));
    await raw.db.close();
    expect((await auditOf(dir)).problem).toMatchObject({ kind: 'missing-entry', index: 4999 });
  });

  test('two entries swapped', async () => {
    const { dir } = await smallLedger();
    const raw = await rawDb(dir);
    const a = (await raw.leaves.get(indexKey(10))) as Uint8Array;
    const b = (await raw.leaves.get(indexKey(11))) as Uint8Array;
    await raw.leaves.batch([
      { type: 'put', key: indexKey(10), value: b },
      { type: 'put', key: indexKey(11), value: a },
    ]);
    await raw.db.close();
    expect((await auditOf(dir)).problem).toMatchObject({ kind: 'wrong-index', index: 10 });
  });

  test('the state rolled back to an earlier, validly signed one', async () => {
    const { dir, secretKey } = await smallLedger(2000);
    let raw = await rawDb(dir);
    const old = (await raw.meta.get(new TextEncoder().encode('state'))) as Uint8Array;
    await raw.db.close();
    const ledger = await Log.open(dir, { secretKey });
    await ledger.append([input(2000), input(2001)]);
    await ledger.close();
    raw = await rawDb(dir);
    await raw.meta.put(new TextEncoder().encode('state'), old);
    await raw.db.close();
    // The old state is self-consistent, so it opens; the audit sees entries beyond it.
    const report = await auditOf(dir);
    expect(report.problem).toMatchObject({ kind: 'extra-entry', index: 2000 });
  });

  test('a state whose frontier was changed is refused at open', async () => {
    const { dir } = await smallLedger(3000);
    const raw = await rawDb(dir);
    const key = new TextEncoder().encode('state');
    const state = JSON.parse(Buffer.from((await raw.meta.get(key)) as Uint8Array).toString('utf8'));
    state.frontier[0] = '00'.repeat(32);
    await raw.meta.put(key, Buffer.from(JSON.stringify(state)));
    await raw.db.close();
    expect(await failsWith(() => Log.open(dir))).toBe('CUSTODY_CORRUPT_STATE');
  });

  test('opening reads only the state: a damaged leaf does not stop it, the audit finds it', async () => {
    const { dir } = await smallLedger(1000);
    const raw = await rawDb(dir);
    await raw.leaves.put(indexKey(0), new Uint8Array([0xff]));
    await raw.db.close();
    const ledger = await Log.open(dir);
    expect(ledger.size).toBe(1000);
    expect((await ledger.audit()).problem).toMatchObject({ kind: 'malformed-entry', index: 0 });
    await ledger.close();
  });
});

describe('the log', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  test('refuses to create over an existing ledger, to open a missing one, or to sign with another key', async () => {
    const { dir, secretKey } = await smallLedger(10);
    expect(await failsWith(() => Log.create(dir, { origin: ORIGIN, secretKey }))).toBe(
      'CUSTODY_LEDGER_EXISTS',
    );
    expect(await failsWith(() => Log.open(join(dir, 'nothing-here')))).toBe('CUSTODY_NO_LEDGER');
    // Not "in use by another process": the folder above it is missing too.
    expect(await failsWith(() => Log.open(join(dir, 'no-folder', 'nothing-here')))).toBe('CUSTODY_NO_LEDGER');
    expect(await failsWith(() => Log.open(dir, { secretKey: generateSecretKey() }))).toBe(
      'CUSTODY_WRONG_LOG_KEY',
    );
    const readOnly = await Log.open(dir);
    expect(await failsWith(() => readOnly.append([input(10)]))).toBe('CUSTODY_WRONG_LOG_KEY');
    await readOnly.close();
    expect(await failsWith(() => Log.create(join(dir, 'x'), { origin: 'has space', secretKey }))).toBe(
      'CUSTODY_BAD_INPUT',
    );
  });

  test('a group with one entry over 65,535 bytes writes nothing', async () => {
    const { dir, secretKey } = await smallLedger(10);
    const ledger = await Log.open(dir, { secretKey });
    const big: EntryInput = { ...input(11), event: { blob: 'x'.repeat(70_000) } };
    expect(await failsWith(() => ledger.append([input(10), big]))).toBe('CUSTODY_ENTRY_TOO_LARGE');
    const nan: EntryInput = { ...input(11), event: { n: Number.NaN } };
    expect(await failsWith(() => ledger.append([input(10), nan]))).toBe('CUSTODY_NOT_CANONICAL');
    expect(ledger.size).toBe(10);
    expect((await ledger.audit()).ok).toBe(true);
    await ledger.close();
  });

  test('concurrent appends are sequenced in call order', async () => {
    const { dir, secretKey } = await smallLedger(0);
    const ledger = await Log.open(dir, { secretKey });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => ledger.append([input(2 * i), input(2 * i + 1)])),
    );
    expect(results.map((r) => r.firstIndex)).toEqual(Array.from({ length: 40 }, (_, i) => 2 * i));
    const entries = await ledger.entries(0, 80);
    expect(entries.map((e) => e.entry.event.n)).toEqual(Array.from({ length: 80 }, (_, i) => i));
    expect((await ledger.audit()).ok).toBe(true);
    await ledger.close();
  });

  test('reads and proofs outside the tree are refused with a reason', async () => {
    const { dir } = await smallLedger(10);
    const ledger = await Log.open(dir);
    expect(await failsWith(() => ledger.entry(10))).toBe('CUSTODY_OUT_OF_RANGE');
    expect(await failsWith(() => ledger.entry(2n ** 60n))).toBe('CUSTODY_OUT_OF_RANGE');
    expect(await failsWith(() => ledger.entries(5, 11))).toBe('CUSTODY_OUT_OF_RANGE');
    expect(await failsWith(() => ledger.inclusionProof(0, 11))).toBe('CUSTODY_OUT_OF_RANGE');
    expect(await failsWith(() => ledger.inclusionProof(5, 5))).toBe('CUSTODY_OUT_OF_RANGE');
    expect(await failsWith(() => ledger.consistencyProof(0, 5))).toBe('CUSTODY_BAD_PROOF');
    expect(await failsWith(() => ledger.consistencyProof(6, 5))).toBe('CUSTODY_BAD_PROOF');
    expect(await ledger.consistencyProof(10, 10)).toEqual([]);
    await ledger.close();
    expect(await failsWith(() => ledger.entry(0))).toBe('CUSTODY_CLOSED');
  });

  test('the proofs of the entries just appended are made without reading the store, and equal the stored ones', async () => {
    const dir = join(tempDir(), 'ledger');
    const secretKey = generateSecretKey();
    const ledger = await Log.create(dir, { origin: ORIGIN, secretKey });
    const groups: { indices: number[]; size: number; proofs: string }[] = [];
    const reads = vi.spyOn(Store.prototype, 'storedSubtrees');
    const next = rng(5);
    for (let g = 0, n = 0; g < 25; g++) {
      const result = await ledger.append(Array.from({ length: 1 + next(300) }, (_, i) => input(n + i)));
      const indices = Array.from({ length: result.size - n }, (_, i) => n + i);
      const proofs = await ledger.inclusionProofs(indices, result.size);
      groups.push({ indices, size: result.size, proofs: [...proofs.values()].flat().map(toHex).join() });
      n = result.size;
    }
    expect(reads).not.toHaveBeenCalled();
    reads.mockRestore();
    await ledger.close();

    const reopened = await Log.open(dir);
    for (const { indices, size, proofs } of groups) {
      const stored = await reopened.inclusionProofs(indices, size);
      expect([...stored.values()].flat().map(toHex).join()).toBe(proofs);
    }
    await reopened.close();
  });

  test('a failed write changes nothing, and the next append continues from what is on disk', async () => {
    const { dir, secretKey } = await smallLedger(10);
    const ledger = await Log.open(dir, { secretKey });
    const commit = Store.prototype.commit;
    const spy = vi.spyOn(Store.prototype, 'commit');

    // The write fails outright: nothing lands, the same index is used again.
    spy.mockRejectedValueOnce(Object.assign(new Error('disk full'), { code: 'LEVEL_IO_ERROR' }));
    expect(await failsWith(() => ledger.append([input(10)]))).toBe('non-custody error: Error: disk full');
    expect(ledger.size).toBe(10);
    expect((await ledger.append([input(10)])).firstIndex).toBe(10);

    // The write lands but its acknowledgement is lost: the ledger must not
    // reuse the indices (that would fork the log); it re-reads the state.
    spy.mockImplementationOnce(async function (this: Store, batch) {
      await commit.call(this, batch);
      throw new Error('ack lost');
    });
    expect(await failsWith(() => ledger.append([input(11)]))).toBeDefined();
    const after = await ledger.append([input(12)]);
    expect(after.firstIndex).toBe(12);
    expect((await ledger.entry(11)).entry.event.n).toBe(11);
    expect((await ledger.audit()).ok).toBe(true);
    await ledger.close();
  });

  test('groups staged behind one being written are placed after it, and fall with it unwritten', async () => {
    const { dir, secretKey } = await smallLedger(10);
    const log = await Log.open(dir, { secretKey });
    const commit = Store.prototype.commit;
    let release!: (fail: boolean) => void;
    const held = new Promise<boolean>((resolve) => {
      release = resolve;
    });
    const spy = vi.spyOn(Store.prototype, 'commit').mockImplementationOnce(async function (
      this: Store,
      ...args
    ) {
      if (await held) throw new Error('disk full');
      await commit.apply(this, args);
    });
    const first = await log.stage([input(10), input(11)]);
    const second = await log.stage([input(12)]);
    // Placed on the tree the first leaves, before it is written; the size served is still the written one.
    expect([first.firstIndex, second.firstIndex, log.nextIndex, log.size]).toEqual([10, 12, 13, 10]);
    first.written.catch(() => undefined);
    second.written.catch(() => undefined);
    release(true);
    expect(await failsWith(() => first.written)).toBe('non-custody error: Error: disk full');
    expect(await failsWith(() => second.written)).toBe('CUSTODY_STORAGE');
    spy.mockRestore();
    // Nothing of either landed: the next group starts where the disk ends.
    expect((await log.append([input(10)])).firstIndex).toBe(10);
    expect(log.size).toBe(11);
    expect((await log.audit()).ok).toBe(true);
    await log.close();
  });
});

import { randomBytes } from 'node:crypto';
import { describe, expect, test, vi } from 'vitest';
import { Store } from '../src/store.js';
import { STORE_STATE, tempDir, write } from './helpers.js';

describe('a key space read in runs (KeySpace.iterate)', () => {
  const keys = Array.from({ length: 10 }, (_, i) => `i\u0000SN-${i}`);

  async function stored() {
    const store = await Store.open(tempDir(), true);
    // Out of order, and beside rows of other prefixes that must not come back.
    await write(store, [...keys].reverse());
    await write(store, ['h\u0000chain', 's\u0000P\u0000id']);
    return { store, space: store.space('custody') };
  }

  test('gives every row under the prefix once, in key order, across runs', async () => {
    const { store, space } = await stored();
    const runs: [string, string][][] = [];
    for await (const run of space.iterate('i\u0000', 3)) runs.push(run);
    expect(runs.map((r) => r.length)).toEqual([3, 3, 3, 1]);
    expect(runs.flat()).toEqual(keys.map((k) => [k, `value of ${k}`]));
    let all = 0;
    for await (const run of space.iterate('')) all += run.length;
    expect(all).toBe(12);
    await store.close();
  });

  test('closes its read when the caller stops early', async () => {
    const { store, space } = await stored();
    const iterator = space.sublevel.iterator.bind(space.sublevel);
    const closes: ReturnType<typeof vi.fn>[] = [];
    vi.spyOn(space.sublevel, 'iterator').mockImplementation((options) => {
      const made = iterator(options);
      closes.push(vi.spyOn(made, 'close'));
      return made;
    });
    for await (const run of space.iterate('i\u0000', 3)) {
      expect(run).toHaveLength(3);
      break;
    }
    expect(closes).toHaveLength(1);
    expect(closes[0]).toHaveBeenCalledOnce();
    await store.close();
  });
});

describe('entries read by index (Store.leavesAt)', () => {
  const leaves: Uint8Array[] = [];

  /** Appends `count` 1 KB leaves, with a row in another key space as every group has. */
  async function append(store: Store, count: number): Promise<void> {
    const custody = store.space('custody');
    for (let done = 0; done < count; done += 1000) {
      const size = (await store.readState())?.size ?? 0;
      const group = Array.from({ length: 1000 }, () => randomBytes(1024));
      leaves.push(...group);
      await store.commit(
        {
          firstIndex: size,
          leaves: group,
          subtrees: [{ level: 0, index: size, hash: randomBytes(32) }],
          state: { ...STORE_STATE, size: size + 1000 },
        },
        [{ space: custody, key: `h\u0000chain-${size}`, value: 'x' }],
      );
    }
  }

  test('do not make LevelDB compact the table files they look past', async () => {
    const store = await Store.open(tempDir(), true);
    // White box: LevelDB's own counts, which the store does not expose.
    const db = Reflect.get(store, 'db') as {
      getProperty(property: string): string;
      compactRange(start: Uint8Array, end: Uint8Array): Promise<void>;
    };
    const files = () =>
      Array.from({ length: 7 }, (_, level) => Number(db.getProperty(`leveldb.num-files-at-level${level}`)));
    const total = () => files().reduce((a, b) => a + b, 0);
    // Old entries in one table, then a table of newer writes above it: like
    // every group's, their keys run from the custody rows to the tree's, so
    // it spans the old entries' keys too.
    await append(store, 4000);
    await db.compactRange(new Uint8Array([0]), new Uint8Array([255]));
    const old = total();
    await append(store, 6000);
    await vi.waitFor(() => expect(total()).toBeGreaterThan(old), { timeout: 10_000, interval: 20 });
    const before = files();

    // A get charged the newer table, which it looked in first; LevelDB
    // compacts a 4 MB table into the next level after 256 charges.
    for (let i = 0; i < 400; i++) {
      expect(Buffer.from((await store.leavesAt([i * 10]))[0] as Uint8Array)).toEqual(leaves[i * 10]);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(files()).toEqual(before);
    const some = await store.leavesAt([9999, 0, 5000]);
    expect(some.map((l) => Buffer.from(l))).toEqual([leaves[9999], leaves[0], leaves[5000]]);
    await expect(store.leavesAt([3, 10_000])).rejects.toMatchObject({ code: 'CUSTODY_CORRUPT_STATE' });
    await store.close();
  }, 30_000);
});

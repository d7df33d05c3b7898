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

describe('an empty value in a key space (most index rows)', () => {
  const rows = ['i\u0000SN-1\u00000000000000000001', 'i\u0000SN-1\u00000000000000000002'];

  test('is stored as one NUL byte, which classic-level frees, and read back as empty by every read', async () => {
    const store = await Store.open(tempDir(), true);
    const space = store.space('custody');
    const state = await store.readState();
    await store.commit(
      { firstIndex: state?.size ?? 0, leaves: [], subtrees: [], state: state ?? STORE_STATE },
      [
        ...rows.map((key) => ({ space, key, value: '' })),
        { space, key: 'i\u0000SN-2\u00000000000000000003', value: 'l\u0000L-1' },
      ],
    );
    // classic-level 3.0 never frees its copy of an empty value (BENCHMARKS.md item 71).
    const raw = await space.sublevel.get(rows[0] as string, { keyEncoding: 'utf8', valueEncoding: 'view' });
    expect([...(raw as Uint8Array)]).toEqual([0]);
    expect(await space.get(rows[0] as string)).toBe('');
    expect(await space.getMany([...rows, 'i\u0000none'])).toEqual(['', '', undefined]);
    expect(await space.scan('i\u0000SN-1\u0000')).toEqual(rows.map((k) => [k, '']));
    const runs: [string, string][] = [];
    for await (const run of space.iterate('i\u0000', 2)) runs.push(...run);
    expect(runs).toEqual([
      ...rows.map((k): [string, string] => [k, '']),
      ['i\u0000SN-2\u00000000000000000003', 'l\u0000L-1'],
    ]);
    await store.close();
  });

  test('written empty by an earlier version, reads back as empty all the same', async () => {
    const store = await Store.open(tempDir(), true);
    const space = store.space('custody');
    await space.sublevel.batch(
      rows.map((key) => ({ type: 'put', key, value: '' })),
      {
        keyEncoding: 'utf8',
        valueEncoding: 'utf8',
      },
    );
    expect(await space.get(rows[0] as string)).toBe('');
    expect(await space.getMany(rows)).toEqual(['', '']);
    expect(await space.scan('i\u0000')).toEqual(rows.map((k) => [k, '']));
    await store.close();
  });
});

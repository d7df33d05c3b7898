import { describe, expect, test, vi } from 'vitest';
import { Store } from '../src/store.js';
import { tempDir, write } from './helpers.js';

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

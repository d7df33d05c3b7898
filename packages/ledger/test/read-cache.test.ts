import { fc, test as prop } from '@fast-check/vitest';
import { expect, test, vi } from 'vitest';
import { Ledger } from '../src/ledger.js';
import { EntryCache, IndexFamilyCache, IndexScanCache } from '../src/read-cache.js';
import { KeySpace, Store } from '../src/store.js';
import { castOf, MANUFACTURE, serials, transfer, World } from './world.js';

const KEYS = ['a', 'b', 'c', 'd'];
/** A group committing rows under some of the keys, `width` entries long. */
const COMMIT = {
  kind: fc.constant('commit' as const),
  keys: fc.subarray(KEYS),
  width: fc.integer({ min: 1, max: 4 }),
};

/**
 * A model of the node: groups commit, each writing rows under some keys;
 * scans start at some size (rows below it are stored) and land later, after
 * more groups may have committed. Whatever the cache answers must be exactly
 * the rows below the size asked.
 */
test('a commit gathers the keys it wrote under only while some scan is held', () => {
  const cache = new IndexScanCache<{ index: number }>(3);
  const written = vi.fn(() => new Set(['a']));
  cache.committed(0, 1, written);
  expect(written).not.toHaveBeenCalled();
  cache.set('b', [{ index: 0 }], 1);
  cache.committed(1, 2, written);
  expect(written).toHaveBeenCalledTimes(1);
  expect(cache.get('b', 2)).toEqual([{ index: 0 }]);
});

test('scans ahead of the commits followed are held for at most a bounded number of keys, and still follow', () => {
  const cache = new IndexScanCache<{ index: number }>(2);
  cache.set('a', [], 0);
  cache.committed(0, 1, () => new Set());
  // A group landed (size 5) that the cache is not told of yet, and many scans after it.
  for (let i = 0; i < 100; i++) cache.set(`k${i}`, [{ index: i % 5 }], 5);
  expect((Reflect.get(cache, 'ahead') as Map<string, number>).size).toBeLessThanOrEqual(4);
  cache.committed(1, 5, () => new Set());
  cache.committed(5, 9, () => new Set(['k98']));
  expect(cache.get('k99', 9)).toEqual([{ index: 4 }]);
  expect(cache.get('k98', 9)).toBeUndefined();
  expect((Reflect.get(cache, 'ahead') as Map<string, number>).size).toBe(0);
});

/**
 * What the scan cache should know, kept the plain way: every entry's
 * `through`, each commit visiting all of them, least recently used dropped
 * first. The cache follows commits without visiting its entries; it must
 * answer exactly when this model does.
 */
class EveryEntryModel {
  private readonly through = new Map<string, number>();
  constructor(private readonly capacity: number) {}
  answers(key: string, size: number): boolean {
    const through = this.through.get(key);
    if (through === undefined) return false;
    this.set(key, through);
    return size <= through;
  }
  set(key: string, through: number): void {
    this.through.delete(key);
    this.through.set(key, through);
    if (this.through.size > this.capacity) this.through.delete(this.through.keys().next().value as string);
  }
  committed(from: number, to: number, keys: readonly string[]): void {
    for (const [key, through] of this.through) {
      if (keys.includes(key)) this.through.delete(key);
      else if (through === from) this.through.set(key, to);
    }
  }
}

prop.prop(
  [
    fc.array(
      fc.oneof(
        fc.record({ ...COMMIT, told: fc.integer({ min: 0, max: 3 }).map((n) => n > 0) }),
        fc.record({
          kind: fc.constant('scan' as const),
          key: fc.constantFrom(...KEYS),
          lag: fc.nat(2),
          ahead: fc.boolean(),
        }),
        fc.record({ kind: fc.constant('read' as const), key: fc.constantFrom(...KEYS), back: fc.nat(6) }),
      ),
      { maxLength: 60 },
    ),
  ],
  { numRuns: 1000 },
)('an index scan cache answers exactly or not at all', (steps) => {
  const cache = new IndexScanCache(3);
  const model = new EveryEntryModel(3);
  const rows = new Map<string, number[]>(KEYS.map((k) => [k, []]));
  let size = 0;
  /** Writes a group; returns how to tell the caches of it. */
  const land = (keys: readonly string[], width: number) => {
    const from = size;
    for (const k of keys) for (let i = from; i < from + width; i++) rows.get(k)?.push(i);
    size += width;
    const to = size;
    return () => {
      cache.committed(from, to, () => new Set(keys));
      model.committed(from, to, keys);
    };
  };
  // A group the caches are not told of stands for a write that failed yet landed.
  const commit = (keys: readonly string[], width: number, told = true) => {
    const tell = land(keys, width);
    if (told) tell();
  };
  for (const step of steps) {
    if (step.kind === 'commit') commit(step.keys, step.width, step.told);
    else if (step.kind === 'scan') {
      // A group may land before the scan starts, the caches told of it only
      // after the scan lands (its size ahead of what they have followed).
      const tell = step.ahead ? land(['b', 'd'], 1) : undefined;
      // The scan starts now and sees the store as it is when it lands, after `lag` more groups.
      const through = size;
      for (let n = 0; n < step.lag; n++) commit(['a', 'c'], 1);
      cache.set(
        step.key,
        (rows.get(step.key) ?? []).map((index) => ({ index })),
        through,
      );
      model.set(step.key, through);
      tell?.();
    } else {
      const at = Math.max(0, size - step.back);
      const answer = cache.get(step.key, at);
      expect(answer !== undefined).toBe(model.answers(step.key, at));
      if (answer !== undefined) {
        expect(answer.map((r) => r.index)).toEqual((rows.get(step.key) ?? []).filter((i) => i < at));
      }
    }
  }
});

/**
 * The same model for a family held whole: groups commit rows under the
 * family's keys, some without the cache being told (a write that failed yet
 * landed); the family's one scan lands after more groups, seeing the store
 * as it was at some moment meanwhile; and it may hold more rows than the
 * cache takes. Whatever the cache answers must be exactly the rows below the
 * size asked.
 */
prop.prop(
  [
    fc.array(
      fc.oneof(
        fc.record({ ...COMMIT, told: fc.integer({ min: 0, max: 9 }).map((n) => n > 0) }),
        fc.record({
          kind: fc.constant('read' as const),
          key: fc.constantFrom(...KEYS),
          back: fc.integer({ min: 0, max: 6 }),
          lag: fc.integer({ min: 0, max: 3 }),
          seenAfter: fc.integer({ min: 0, max: 3 }),
        }),
      ),
      { maxLength: 40 },
    ),
    fc.integer({ min: 4, max: 40 }),
  ],
  { numRuns: 300 },
)('a family cache answers exactly or not at all', async (steps, capacity) => {
  const rows = new Map<string, number[]>(KEYS.map((k) => [k, []]));
  let size = 0;
  let lagging: { lag: number; seenAfter: number } = { lag: 0, seenAfter: 0 };
  const snapshot = () =>
    [...rows].flatMap(([k, list]) => list.map((index): [string, { index: number }] => [k, { index }]));
  const cache = new IndexFamilyCache<{ index: number }>(
    '',
    capacity,
    async (limit) => {
      // The scan is out (as a read of LevelDB is) while `lag` groups commit; it
      // sees the store as it is after `seenAfter` of them.
      await new Promise((resolve) => setImmediate(resolve));
      let seen = snapshot();
      for (let n = 0; n < lagging.lag; n++) {
        commit(['a', 'c'], 1, true);
        if (n + 1 === lagging.seenAfter) seen = snapshot();
      }
      return seen.slice(0, limit);
    },
    () => size,
  );
  function commit(keys: readonly string[], width: number, told: boolean) {
    const from = size;
    const added: [string, { index: number }][] = [];
    for (let i = from; i < from + width; i++) {
      for (const k of keys) {
        rows.get(k)?.push(i);
        added.push([k, { index: i }]);
      }
    }
    size += width;
    if (told) cache.committed(from, size, added);
  }
  for (const step of steps) {
    if (step.kind === 'commit') commit(step.keys, step.width, step.told);
    else {
      lagging = step;
      const at = Math.max(0, size - step.back);
      const answer = await cache.get(step.key, at);
      const truth = (rows.get(step.key) ?? []).filter((i) => i < at);
      if (answer !== undefined) expect(answer.map((r) => r.index)).toEqual(truth);
    }
  }
});

test('a family cache holds no more rows than its capacity, and a group it read already is no gap', async () => {
  const stored: [string, { index: number }][] = [
    ['k', { index: 0 }],
    ['k', { index: 3 }],
  ];
  let size = 5;
  let scans = 0;
  const cache = new IndexFamilyCache<{ index: number }>(
    '',
    3,
    async (limit) => {
      scans++;
      return stored.slice(0, limit);
    },
    () => size,
  );
  expect((await cache.get('k', 5))?.map((r) => r.index)).toEqual([0, 3]);
  // The group [3, 5) reported after the scan that already saw it (it read size 5).
  cache.committed(3, 5, [['k', { index: 3 }]]);
  expect((await cache.get('k', 5))?.map((r) => r.index)).toEqual([0, 3]);
  cache.committed(5, 6, [['k', { index: 5 }]]);
  size = 6;
  expect((await cache.get('k', 6))?.map((r) => r.index)).toEqual([0, 3, 5]);
  expect(scans).toBe(1);
  // A fourth row is more than it holds: from then on the store answers.
  cache.committed(6, 7, [['j', { index: 6 }]]);
  expect(await cache.get('k', 7)).toBeUndefined();
});

test('a family cache takes in the groups written while its scan was out', async () => {
  let size = 2;
  let scans = 0;
  let land: () => void = () => {};
  const cache = new IndexFamilyCache<{ index: number }>(
    '',
    100,
    async () => {
      scans++;
      await new Promise<void>((resolve) => {
        land = resolve;
      });
      return [['k', { index: 1 }]];
    },
    () => size,
  );
  const first = cache.get('k', 2);
  await new Promise((resolve) => setImmediate(resolve));
  size = 3;
  cache.committed(2, 3, [['k', { index: 2 }]]);
  land();
  expect((await first)?.map((r) => r.index)).toEqual([1]);
  expect((await cache.get('k', 3))?.map((r) => r.index)).toEqual([1, 2]);
  expect(scans).toBe(1);
});

test('histories read through the caches see every later event', async () => {
  const world = await World.create();
  await castOf(world);
  const [serial] = await transfer(world, { items: serials(1, 'RC-') });
  const before = await world.ledger.history({ serial: serial as string });
  await world.ledger.history({ serial: serial as string });
  // A later transfer of other items changes nothing here; a new event on this serial does.
  await world.send(world.sign('ACME', 'item.manufacture', { serials: ['RD-1'] }, MANUFACTURE));
  expect((await world.ledger.history({ serial: serial as string })).events.length).toBe(before.events.length);
  await world.send(
    world.sign(
      'KE-POLICE',
      'item.report',
      { serials: [serial as string] },
      { kind: 'lost', reference: 'r-1' },
    ),
  );
  const after = await world.ledger.history({ serial: serial as string });
  expect(after.events.length).toBe(before.events.length + 1);
  expect(after.events.at(-1)?.event.type).toBe('item.report');
  await world.ledger.close();
});

test('a history asks for the next round of keys beside the entries of this round', async () => {
  const world = await World.create();
  await castOf(world);
  const [serial] = await transfer(world, { items: serials(2, 'NX-') });
  const expected = await world.history({ serial: serial as string });
  await world.ledger.close();
  // Reopened, so that nothing is cached and every round goes to the store.
  const ledger = await Ledger.open(world.dir);
  const calls: string[] = [];
  const scanOf = KeySpace.prototype.scan;
  const leavesOf = Store.prototype.leavesAt;
  const scans = vi.spyOn(KeySpace.prototype, 'scan').mockImplementation(function (
    this: KeySpace,
    prefix,
    limit,
  ) {
    calls.push(`scan ${prefix.split('\u0000')[1]}`);
    return scanOf.call(this, prefix, limit);
  });
  const reads = vi.spyOn(Store.prototype, 'leavesAt').mockImplementation(function (this: Store, indices) {
    calls.push('read');
    return leavesOf.call(this, indices);
  });
  const history = await ledger.history({ serial: serial as string }, world.now);
  scans.mockRestore();
  reads.mockRestore();
  await ledger.close();
  expect(history.events.map((e) => e.index)).toEqual(expected.events.map((e) => e.index));
  // The serial's rows name its shipment and licence: both are asked for
  // before the serial's own entries are read, and the licence's EUC before its entries.
  const at = (call: string) => calls.indexOf(call);
  expect(at(`scan serial:${serial}`)).toBe(0);
  expect(at('scan shipment:SHP-1')).toBeGreaterThan(0);
  expect(at('scan shipment:SHP-1')).toBeLessThan(at('read'));
  expect(at('scan licence:DE-L-2026-0001')).toBeLessThan(at('read'));
  expect(calls.filter((c) => c.startsWith('scan euc:'))).toHaveLength(1);
});

test('an entry is kept from its second read on, and no more of them than the capacity', () => {
  const cache = new EntryCache<string>(2);
  cache.set(7, 'seven');
  // Read once: only its index is noted.
  expect(cache.get(7)).toBeUndefined();
  cache.set(7, 'seven');
  expect(cache.get(7)).toBe('seven');
  for (const i of [1, 2]) {
    cache.set(i, `#${i}`);
    cache.set(i, `#${i}`);
  }
  // The least recently used of three, 7, made room.
  expect([cache.get(7), cache.get(1), cache.get(2)]).toEqual([undefined, '#1', '#2']);
});

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fc, test as prop } from '@fast-check/vitest';
import { describe, expect, test, vi } from 'vitest';
import { KeyFilter } from '../src/key-filter.js';
import { Ledger } from '../src/ledger.js';
import { KeySpace, Store } from '../src/store.js';
import { rawDb, STORE_STATE, tempDir, write } from './helpers.js';
import { castOf, LICENCE_BODY, World } from './world.js';

describe('KeyFilter', () => {
  prop.prop([
    fc.uniqueArray(fc.string({ unit: 'binary', maxLength: 40 }), { maxLength: 3000 }),
    fc.nat(2000),
  ])('never calls a key it holds absent, however far past its expected size it grows', (keys, expected) => {
    const filter = new KeyFilter(expected);
    for (const key of keys) filter.add(key);
    for (const key of keys) expect(filter.mayHave(key)).toBe(true);
  });

  test('calls few keys it does not hold present: at its size, and grown to 16 times it', () => {
    const falsePositives = (held: number, expected: number) => {
      const filter = new KeyFilter(expected);
      for (let i = 0; i < held; i++) filter.add(`s\u0000EXPORTCO\u0000ship-${i}`);
      let hits = 0;
      for (let i = 0; i < 100_000; i++) if (filter.mayHave(`s\u0000EXPORTCO\u0000other-${i}`)) hits++;
      return hits / 100_000;
    };
    expect(falsePositives(100_000, 100_000)).toBeLessThan(0.01);
    // Five segments, each with a bit a key more than the one before.
    expect(falsePositives(16 * 65_536, 65_536)).toBeLessThan(0.03);
  });

  prop.prop([
    fc.uniqueArray(fc.string({ maxLength: 30 }), { minLength: 1, maxLength: 2000 }),
    fc.nat(70_000),
  ])('read back from its bytes, answers as it did', (keys, expected) => {
    const filter = new KeyFilter(expected);
    const [held, others] = [keys.slice(0, keys.length >> 1), keys.slice(keys.length >> 1)];
    for (const key of held) filter.add(key);
    const back = KeyFilter.fromBytes(filter.toBytes());
    expect(back).toBeDefined();
    for (const key of keys) expect(back?.mayHave(key)).toBe(filter.mayHave(key));
    expect(back?.bytes).toBe(filter.bytes);
    // And it goes on growing as the original would.
    for (const key of others) back?.add(key);
    for (const key of keys) expect(back?.mayHave(key)).toBe(true);
  });

  test('bytes that are not a filter read back as none', () => {
    const bytes = new KeyFilter(10).toBytes();
    expect(KeyFilter.fromBytes(bytes)).toBeDefined();
    expect(KeyFilter.fromBytes(bytes.subarray(0, bytes.length - 1))).toBeUndefined();
    expect(KeyFilter.fromBytes(new Uint8Array([...bytes, 0]))).toBeUndefined();
    expect(KeyFilter.fromBytes(new Uint8Array(0))).toBeUndefined();
    expect(KeyFilter.fromBytes(new Uint8Array(4))).toBeUndefined();
    const words = new Uint8Array(bytes);
    new DataView(words.buffer).setUint32(12, 3, true); // three words: not a power of two
    expect(KeyFilter.fromBytes(words)).toBeUndefined();
    // A segment's header (capacity, count, words at 4, 8, 12) that `add` could not have left.
    const header = (capacity: number, count: number) => {
      const changed = new Uint8Array(bytes);
      const view = new DataView(changed.buffer);
      view.setUint32(4, capacity, true);
      view.setUint32(8, count, true);
      return KeyFilter.fromBytes(changed);
    };
    expect(header(65_536, 65_536)).toBeDefined();
    expect(header(0, 0)).toBeUndefined(); // every add would start a segment
    expect(header(65_536, 65_537)).toBeUndefined(); // more keys than it holds
    expect(header(2 ** 31, 0)).toBeUndefined(); // fewer than ten bits a key: its next segment, gigabytes
  });

  test('holds a little over ten bits a key at its expected size', () => {
    const filter = new KeyFilter(1_000_000);
    expect(filter.bytes).toBeGreaterThanOrEqual((1_000_000 * 10) / 8);
    expect(filter.bytes).toBeLessThanOrEqual((1_000_000 * 20) / 8);
  });
});

/** A store whose last close saved a filter (on `s\0`) holding "s\0P\0one". */
async function savedFilterIn(): Promise<string> {
  const { dir, store, ready } = await filteredSpace(['s\u0000P\u0000one']);
  expect(await ready).toBe(true);
  await store.close();
  return dir;
}

/** Opens the store in `dir`, filters its custody space on `prefixes`, and says whether that scanned. */
async function reopenFiltered(dir: string, prefixes = ['s\u0000']) {
  const store = await Store.open(dir, false);
  const space = store.space('custody');
  const scans = vi.spyOn(space.sublevel, 'keys');
  expect(await space.filterAbsentKeys(prefixes, 1)).toBe(true);
  return { store, space, scanned: scans.mock.calls.length > 0 };
}

/** Closes a store's LevelDB without Store.close: as a process that stopped without closing. */
const crash = (store: Store) => (store as unknown as { db: { close(): Promise<void> } }).db.close();

/** A store with one key space, `stored` written into it by commits, reopened, and the space filtered on `s\0`. */
async function filteredSpace(stored: readonly string[]) {
  const dir = tempDir();
  const first = await Store.open(dir, true);
  await write(first, stored);
  await first.close();
  const store = await Store.open(dir, false);
  const space = store.space('custody');
  const ready = space.filterAbsentKeys(['s\u0000'], stored.length);
  return { dir, store, space, ready };
}

describe('a key space filtered for absent keys', () => {
  test('reads what was stored before, during and after the scan, and answers absent keys without LevelDB', async () => {
    const before = Array.from({ length: 30_000 }, (_, i) => `s\u0000P\u0000before-${i}`);
    const { store, space, ready } = await filteredSpace(before);
    // Read before the scan ends (it has not had one trip to LevelDB): the filter is not asked yet.
    expect(await space.get('s\u0000P\u0000before-29999')).toBe('value of s\u0000P\u0000before-29999');
    // Written while the scan runs: the commit adds them, the scan need not see them.
    await write(store, ['s\u0000P\u0000during', 'h\u0000chain']);
    expect(await ready).toBe(true);
    await write(store, ['s\u0000P\u0000after']);
    const getMany = vi.spyOn(space.sublevel, 'getMany');
    const get = vi.spyOn(space.sublevel, 'get');
    const keys = ['s\u0000P\u0000before-0', 's\u0000P\u0000nobody', 's\u0000P\u0000during', 'h\u0000chain'];
    keys.push(
      's\u0000P\u0000before-29999',
      's\u0000P\u0000after',
      'h\u0000none',
      's\u0000P\u0000nobody either',
    );
    expect(await space.getMany(keys)).toEqual([
      'value of s\u0000P\u0000before-0',
      undefined,
      'value of s\u0000P\u0000during',
      'value of h\u0000chain',
      'value of s\u0000P\u0000before-29999',
      'value of s\u0000P\u0000after',
      undefined,
      undefined,
    ]);
    expect(await space.get('s\u0000P\u0000after')).toBe('value of s\u0000P\u0000after');
    expect(await space.get('s\u0000P\u0000not here')).toBeUndefined();
    // Keys under the prefix that the filter rules out are not asked of LevelDB (a
    // false positive among three is one chance in ~10^4); keys under no prefix are.
    const asked = [...getMany.mock.calls.flatMap(([k]) => k as string[]), ...get.mock.calls.map(([k]) => k)];
    expect(asked).not.toContain('s\u0000P\u0000nobody');
    expect(asked).not.toContain('s\u0000P\u0000not here');
    expect(asked).toContain('h\u0000none');
    expect(asked).toContain('s\u0000P\u0000after');
    await store.close();
  });

  test('a scan cut short by closing leaves the filter unused, and the store reads as before', async () => {
    const keys = Array.from({ length: 30_000 }, (_, i) => `s\u0000P\u0000k-${i}`);
    const { dir, store, ready } = await filteredSpace(keys);
    await store.close();
    expect(await ready).toBe(false);
    const reopened = await Store.open(dir, false);
    expect(await reopened.space('custody').getMany(['s\u0000P\u0000k-1', 's\u0000P\u0000k-29999'])).toEqual([
      'value of s\u0000P\u0000k-1',
      'value of s\u0000P\u0000k-29999',
    ]);
    await reopened.close();
  });

  test('saved when the store closes, used by the next open without a scan, and only by that one', async () => {
    const { dir, store, ready } = await filteredSpace(['s\u0000P\u0000one']);
    expect(await ready).toBe(true);
    await write(store, ['s\u0000P\u0000two']);
    await store.close();

    const again = await reopenFiltered(dir);
    expect(again.scanned).toBe(false);
    const getMany = vi.spyOn(again.space.sublevel, 'getMany');
    expect(
      await again.space.getMany(['s\u0000P\u0000one', 's\u0000P\u0000two', 's\u0000P\u0000none']),
    ).toEqual(['value of s\u0000P\u0000one', 'value of s\u0000P\u0000two', undefined]);
    expect(getMany.mock.calls.flat(2)).not.toContain('s\u0000P\u0000none');
    await write(again.store, ['s\u0000P\u0000three']);
    // The process stops without closing the store: what it wrote after the
    // filter was saved must not be missed by the next open's.
    await crash(again.store);

    const third = await reopenFiltered(dir);
    expect(third.scanned).toBe(true);
    expect(await third.space.get('s\u0000P\u0000three')).toBe('value of s\u0000P\u0000three');
    await third.store.close();
  });

  test('an open only claims the saved file; one claimed by an open that then stopped is never read', async () => {
    const dir = await savedFilterIn();
    const file = join(dir, 'custody-key-filters');
    const claimed = `${file}.claimed`;
    // Opened, written to, and stopped without closing before any key space read the filter.
    const crashed = await Store.open(dir, false);
    expect([existsSync(file), existsSync(claimed)]).toEqual([false, true]);
    await write(crashed, ['s\u0000P\u0000late']);
    await crash(crashed);
    const next = await reopenFiltered(dir);
    expect([existsSync(file), existsSync(claimed)]).toEqual([false, false]);
    expect(next.scanned).toBe(true);
    expect(await next.space.get('s\u0000P\u0000late')).toBe('value of s\u0000P\u0000late');
    await next.store.close();
  });

  test('keys written while the saved filter is read back are in it', async () => {
    const dir = await savedFilterIn();
    const again = await Store.open(dir, false);
    const space = again.space('custody');
    const filtered = space.filterAbsentKeys(['s\u0000'], 1);
    // Written before the file is read: the filter that replaces the empty one must hold it.
    await write(again, ['s\u0000P\u0000meanwhile']);
    expect(await filtered).toBe(true);
    expect(await space.get('s\u0000P\u0000meanwhile')).toBe('value of s\u0000P\u0000meanwhile');
    expect(await space.get('s\u0000P\u0000one')).toBe('value of s\u0000P\u0000one');
    await again.close();
  });

  test('an open that takes no filter and writes nothing puts the saved one back', async () => {
    const dir = await savedFilterIn();
    // Opened and closed with no key space filtered: as a ledger whose log key was wrong.
    await (await Store.open(dir, false)).close();
    let again = await reopenFiltered(dir);
    expect(again.scanned).toBe(false);
    await again.store.close();
    // The same with a write in between: the saved filter is stale, and dropped.
    const writer = await Store.open(dir, false);
    await write(writer, ['s\u0000P\u0000late']);
    await writer.close();
    again = await reopenFiltered(dir);
    expect(again.scanned).toBe(true);
    expect(await again.space.get('s\u0000P\u0000late')).toBe('value of s\u0000P\u0000late');
    await again.store.close();
  });

  test('a saved filter for other prefixes, or damaged, is not used', async () => {
    const dir = await savedFilterIn();
    let again = await reopenFiltered(dir, ['s\u0000', 'h\u0000']);
    expect(again.scanned).toBe(true);
    expect(await again.space.get('s\u0000P\u0000one')).toBe('value of s\u0000P\u0000one');
    await again.store.close();

    // One byte of the saved file changed: its checksum fails, it is not used.
    const file = join(dir, 'custody-key-filters');
    const saved = readFileSync(file);
    saved[saved.length - 1] = (saved[saved.length - 1] as number) ^ 1;
    writeFileSync(file, saved);
    again = await reopenFiltered(dir, ['s\u0000', 'h\u0000']);
    expect(existsSync(file)).toBe(false);
    expect(again.scanned).toBe(true);
    await again.store.close();
  });

  test('is set before the space takes a write, and once', async () => {
    const { store, space, ready } = await filteredSpace([]);
    await ready;
    expect(() => space.filterAbsentKeys(['s\u0000'], 1)).toThrow(/before its first write/);
    const other = store.space('other');
    await store.commit({ firstIndex: 0, leaves: [], subtrees: [], state: STORE_STATE }, [
      { space: other, key: 'k', value: 'v' },
    ]);
    expect(() => other.filterAbsentKeys(['k'], 1)).toThrow(/before its first write/);
    expect(store.space('other')).toBe(other);
    await store.close();
  });
});

/** The ledger's custody key space (one object per name and store). */
const ledgerSpace = (ledger: Ledger) => (ledger as unknown as { space: KeySpace }).space;

describe('a ledger reopened with its absent keys filtered', () => {
  test('still knows every (signer, id), chain and licence it held: a replay is refused, a resend gets its receipt', async () => {
    const world = await World.create();
    await castOf(world);
    const issued = world.sign('DE-BAFA', 'licence.issue', { licence: 'L-7' }, LICENCE_BODY);
    const receipt = await world.send(issued);
    await world.ledger.close();
    const ledger = await Ledger.open(world.dir, { secretKey: world.secretKey, clock: () => world.now });
    expect(await ledger.keysFiltered).toBe(true);
    const size = ledger.size;
    const [again] = await ledger.submit([issued]);
    expect(again).toMatchObject({ ok: true, duplicate: true, receipt: { index: receipt.index } });
    // The same (signer, id) over another event, and the licence issued a second time.
    const replay = world.sign(
      'DE-BAFA',
      'licence.issue',
      { licence: 'L-7' },
      { ...LICENCE_BODY, endUse: 'other' },
      { id: issued.event.id, prev: null },
    );
    const [replayed] = await ledger.submit([replay]);
    expect(replayed?.ok === false && replayed.error.code).toBe('CUSTODY_REPLAY');
    const reissue = world.sign('DE-BAFA', 'licence.issue', { licence: 'L-7' }, LICENCE_BODY, { prev: null });
    const [reissued] = await ledger.submit([reissue]);
    expect(reissued?.ok === false && reissued.error.code).toBe('CUSTODY_SUBJECT_EXISTS');
    // An amendment that starts the licence's chain again: its head is known.
    const amend = world.sign(
      'DE-BAFA',
      'licence.amend',
      { licence: 'L-7' },
      { reason: 'x', terms: { route: ['NL'] } },
      { prev: null },
    );
    const [amended] = await ledger.submit([amend]);
    expect(amended?.ok === false && amended.error.code).toBe('CUSTODY_STALE_PREV');
    expect(ledger.size).toBe(size);
    await ledger.close();
    // Nothing else wrote to it: the raw store holds the licence's rows once.
    const raw = await rawDb(world.dir);
    const custody = raw.db.sublevel<string, string>('custody', {
      keyEncoding: 'utf8',
      valueEncoding: 'utf8',
    });
    expect(await custody.get('l\u0000L-7')).toBe('DE-BAFA');
    await raw.db.close();
  });

  test('admits a new event without asking LevelDB for its party (held in memory) or for keys the filter rules out', async () => {
    const world = await World.create();
    await castOf(world);
    await world.ledger.close();
    const ledger = await Ledger.open(world.dir, { secretKey: world.secretKey, clock: () => world.now });
    expect(await ledger.keysFiltered).toBe(true);
    const get = vi.spyOn(KeySpace.prototype, 'get');
    const getMany = vi.spyOn(KeySpace.prototype, 'getMany');
    const stored = vi.spyOn(ledgerSpace(ledger).sublevel, 'getMany');
    const report = world.sign('ACME', 'item.report', { serials: ['SN-1'] }, { kind: 'lost', reference: 'r' });
    expect((await ledger.submit([report]))[0]?.ok).toBe(true);
    const asked = [...getMany.mock.calls.flatMap(([k]) => k), ...get.mock.calls.map(([k]) => k)];
    get.mockRestore();
    getMany.mockRestore();
    // Its (signer, id) was looked up, and answered from memory.
    expect(asked.some((k) => k.startsWith('s\u0000ACME\u0000'))).toBe(true);
    expect(asked.filter((k) => k.startsWith('p\u0000'))).toEqual([]);
    expect(stored.mock.calls.flatMap(([k]) => k)).toEqual([]);
    stored.mockRestore();
    await ledger.close();
  });
});

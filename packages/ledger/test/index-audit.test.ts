/**
 * The audit checks the custody indexes against the log: an index entry
 * changed, deleted or added behind the ledger's back is named, with the log
 * entry it concerns, even though every leaf and hash is intact.
 */
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, test, vi } from 'vitest';
import { eventHash } from '../src/events/sign.js';
import { Ledger } from '../src/ledger.js';
import { Store } from '../src/store.js';
import { rawDb, tempDir } from './helpers.js';
import { castOf, HOUR, transfer, transit, World } from './world.js';

let clean: string;
let root: string;

beforeAll(async () => {
  const world = await World.create();
  await castOf(world);
  await transfer(world, { items: ['SN-0001', 'SN-0002'] });
  await world.ledger.close();
  clean = world.dir;
  root = tempDir();
}, 60_000);

const key = (...parts: string[]) => parts.join('\u0000');
let copies = 0;

/** The custody key space, opened raw. */
interface Space {
  get(k: string): Promise<string | undefined>;
  put(k: string, v: string): Promise<void>;
  del(k: string): Promise<void>;
}

/** Audits a copy of the clean ledger after `change` has been made to its custody index space. */
async function auditAfter(change: (space: Space) => Promise<void>) {
  const dir = join(root, `copy-${++copies}`);
  await cp(clean, dir, { recursive: true });
  const raw = await rawDb(dir);
  const space = raw.db.sublevel<string, string>('custody', { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await change({
    get: async (k) => (await space.get(k)) ?? undefined,
    put: (k, v) => space.put(k, v),
    del: (k) => space.del(k),
  });
  await raw.db.close();
  const ledger = await Ledger.open(dir);
  try {
    return await ledger.audit();
  } finally {
    await ledger.close();
  }
}

describe('audit of the custody indexes', () => {
  test('untouched: clean', async () => {
    expect((await auditAfter(async () => {})).ok).toBe(true);
  });

  test.each([
    {
      what: 'an item’s index entry deleted (its history would skip that event)',
      change: (s: Space) => s.del(key('i', 'serial:SN-0002', '000000000000000c')),
      index: 12,
      says: /index entry "i \/ serial:SN-0002 \/ 000000000000000c", written by entry 12, is missing/,
    },
    {
      what: 'an index entry added (an event slipped into another item’s history)',
      change: (s: Space) => s.put(key('i', 'serial:SN-0009', '000000000000000b'), ''),
      index: 11,
      says: /"i \/ serial:SN-0009 \/ 000000000000000b" was written by no entry/,
    },
    {
      what: 'an index row naming other keys to look up next',
      change: (s: Space) => s.put(key('i', 'serial:SN-0001', '000000000000000a'), 'shipment:SHP-9'),
      index: 10,
      says: /holds "shipment:SHP-9", but entry 10 wrote "shipment:SHP-1\\u0000licence:DE-L-2026-0001"/,
    },
    {
      what: 'a transit’s row naming the dispatch’s licence, which the transit does not name',
      change: (s: Space) => s.put(key('i', 'serial:SN-0002', '000000000000000c'), 'licence:DE-L-2026-0001'),
      index: 12,
      says: /holds "licence:DE-L-2026-0001", but entry 12 wrote ""/,
    },
    {
      what: 'a replay-guard entry pointing at another event',
      change: async (s: Space) => {
        const k = key('s', 'ACME', 'evt-9-item_manufacture');
        const [index, hash] = ((await s.get(k)) as string).split(' ');
        await s.put(k, `${Number(index) + 1} ${hash}`);
      },
      index: 8,
      says: /holds "9 .*", but entry 8 wrote "8 /,
    },
    {
      what: 'a chain head rolled back (the next event would fork the chain)',
      change: (s: Space) => s.put(key('h', 'shipment:SHP-1'), 'ab'.repeat(32)),
      index: 14,
      says: /"h \/ shipment:SHP-1" holds/,
    },
    {
      what: 'a party given a role it never had',
      change: async (s: Space) => {
        const party = JSON.parse((await s.get(key('p', 'ACME'))) as string);
        await s.put(
          key('p', 'ACME'),
          JSON.stringify({ ...party, roles: ['manufacturer', 'licensing-authority'] }),
        );
      },
      index: 1,
      says: /"p \/ ACME" holds/,
    },
    {
      what: 'a party replaced by bytes that are not JSON (the ledger still opens to be audited)',
      change: (s: Space) => s.put(key('p', 'ACME'), '{"id":"ACME",'),
      index: 1,
      says: /"p \/ ACME" holds "\{\\"id\\":\\"ACME\\",", but entry 1 wrote/,
    },
    {
      what: 'a party whose keys are not keys (the ledger still opens to be audited)',
      change: (s: Space) => s.put(key('p', 'ACME'), '{"id":"ACME","roles":[],"keys":[null]}'),
      index: 1,
      says: /"p \/ ACME" holds/,
    },
    {
      what: 'a licence’s issuer deleted (anyone could issue it again)',
      change: (s: Space) => s.del(key('l', 'DE-L-2026-0001')),
      index: 9,
      says: /"l \/ DE-L-2026-0001", written by entry 9, is missing/,
    },
    {
      what: 'a chain head for a shipment never dispatched',
      change: (s: Space) => s.put(key('h', 'shipment:SHP-9'), 'cd'.repeat(32)),
      index: 15,
      says: /"h \/ shipment:SHP-9" was written by no entry/,
    },
  ])('$what: named, with the entry it concerns', async ({ change, index, says }) => {
    const report = await auditAfter(change);
    expect(report.ok).toBe(false);
    expect(report.problem).toMatchObject({ kind: 'index-entry', index });
    expect(report.problem?.message).toMatch(says);
  });

  test('a row as versions before wrote it, naming its event’s shipment on a transit: clean', async () => {
    const report = await auditAfter((s) =>
      s.put(key('i', 'serial:SN-0002', '000000000000000c'), 'shipment:SHP-1'),
    );
    expect(report.ok).toBe(true);
  });

  test('index rows written before they named the keys to look up next: clean, and the same histories', async () => {
    const history = async (dir: string, serial: string) => {
      const ledger = await Ledger.open(dir);
      try {
        const { events, flags, verdict } = await ledger.history({ serial });
        return { indices: events.map((e) => e.index), flags, verdict };
      } finally {
        await ledger.close();
      }
    };
    const dir = join(root, 'blank');
    await cp(clean, dir, { recursive: true });
    const raw = await rawDb(dir);
    const space = raw.db.sublevel<string, string>('custody', { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    let named = 0;
    for await (const [k, v] of space.iterator({ gte: 'i\u0000', lt: 'i\u0001' })) {
      if (v === '') continue;
      named++;
      await space.put(k, '');
    }
    await raw.db.close();
    expect(named).toBeGreaterThan(0);
    const ledger = await Ledger.open(dir);
    expect((await ledger.audit()).ok).toBe(true);
    await ledger.close();
    for (const serial of ['SN-0001', 'SN-0002']) {
      expect(await history(dir, serial)).toEqual(await history(clean, serial));
    }
  });
});

describe('a group that holds several events of one chain', () => {
  test('writes the chain’s head once, the last event’s, and the chain goes on from it', async () => {
    const world = await World.create();
    await castOf(world);
    const items = ['SN-0001', 'SN-0002'];
    // Up to the dispatch, one at a time; then the rest of the shipment's chain in one group.
    await transfer(world, {
      items,
      at: async (step) => ['exit', 'transit', 'deliver', 'verify'].includes(step),
    });
    const exit = world.sign('DE-CUSTOMS', 'shipment.transit', { shipment: 'SHP-1' }, transit('DEHAM', 'DE'));
    world.pass(HOUR);
    const sighted = world.sign(
      'NL-CUSTOMS',
      'shipment.transit',
      { shipment: 'SHP-1' },
      transit('NLRTM', 'NL', { serialsSighted: items }),
      { prev: eventHash(exit.event) },
    );
    world.pass(HOUR);
    const deliver = world.sign(
      'KE-POLICE',
      'shipment.deliver',
      { shipment: 'SHP-1' },
      { location: 'KEMBA', serialsReceived: items },
      { prev: eventHash(sighted.event) },
    );
    const commit = vi.spyOn(Store.prototype, 'commit');
    const outcomes = await world.ledger.submit([exit, sighted, deliver]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true]);
    const heads = (commit.mock.calls[0]?.[1] ?? []).filter((w) => w.key === 'h\u0000shipment:SHP-1');
    commit.mockRestore();
    expect(heads.map((w) => w.value)).toEqual([eventHash(deliver.event)]);

    world.pass(HOUR);
    const verify = world.sign(
      'KE-NCC',
      'delivery.verify',
      { shipment: 'SHP-1' },
      { serialsConfirmed: items, method: 'on-site', endUseConfirmed: true },
      { prev: eventHash(deliver.event) },
    );
    await world.ledger.submitOne(verify);
    expect((await world.ledger.audit()).ok).toBe(true);
    await world.ledger.close();
  }, 30_000);
});

/**
 * What the node promises about the disk, over real HTTP on 127.0.0.1 with the
 * real LevelDB underneath, watched at the store's LevelDB batch:
 *   - no receipt leaves before its group's batch, written with `sync: true`,
 *     has resolved (a SIGKILL cannot tell a synced write from a cached one,
 *     so the crash test cannot prove this; this test does);
 *   - a write that fails in the middle of a group answers 503
 *     CUSTODY_STORAGE to every request of that group, and of the groups
 *     sequenced behind it, leaves nothing behind (not in the log, not in the
 *     indexes, not in the replay guard), and the node takes the same events
 *     once writes succeed again.
 */
import { type SignedEvent, verifyReceipt } from '@custody/ledger';
import type { FastifyInstance } from 'fastify';
import { Level } from 'level';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { castOf, World } from '../../ledger/test/world.js';
import { createNode } from '../src/app.js';

let world: World;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  world = await World.create();
  await castOf(world);
  app = await createNode({ ledger: world.ledger, closeLedger: false, rateLimit: false, logger: false });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);

afterAll(async () => {
  await app.close();
  await world.ledger.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

let serial = 0;
const reports = (n: number): SignedEvent[] =>
  Array.from({ length: n }, () =>
    world.sign('ACME', 'item.report', { serials: [`DUR-${++serial}`] }, { kind: 'lost', reference: 'disk' }),
  );

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  /** When the response arrived, in process.hrtime nanoseconds. */
  readonly at: bigint;
}

async function post(event: SignedEvent): Promise<Answer> {
  const r = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(event),
  });
  const body = (await r.json()) as Record<string, unknown>;
  return { status: r.status, body, at: process.hrtime.bigint() };
}

/** One batch write as the store made it. */
interface BatchCall {
  readonly sync: boolean;
  /** Tree size before and after the group (from the state the batch writes). */
  readonly from: number;
  readonly to: number;
  resolvedAt?: bigint;
}

type Batch = {
  put(key: Uint8Array, value: Uint8Array): Batch;
  write(options?: { sync?: boolean }): Promise<void>;
};

/**
 * Watches every batch the store writes (a chained batch: puts, then one
 * write). `gate` holds each write before it reaches LevelDB; `fail` makes
 * LevelDB's answer an I/O error instead; `failAfterWrite`, an I/O error
 * after the batch has landed.
 */
function watchBatches(
  options: { gate?: Promise<void>; fail?: (call: BatchCall) => boolean; failAfterWrite?: () => boolean } = {},
): BatchCall[] {
  const calls: BatchCall[] = [];
  const original = Level.prototype.batch as unknown as (this: Level) => Batch;
  vi.spyOn(Level.prototype, 'batch').mockImplementation(function (this: Level) {
    const batch = original.call(this);
    let to = -1;
    const put = batch.put.bind(batch);
    batch.put = (key, value) => {
      if (Buffer.from(key).toString() === '!meta!state') to = JSON.parse(Buffer.from(value).toString()).size;
      return put(key, value);
    };
    const write = batch.write.bind(batch);
    batch.write = async (writeOptions) => {
      const call: BatchCall = { sync: writeOptions?.sync === true, from: world.ledger.size, to };
      calls.push(call);
      await options.gate;
      if (options.fail?.(call) === true)
        throw Object.assign(new Error('IO error: disk full'), { code: 'LEVEL_IO_ERROR' });
      await write(writeOptions);
      call.resolvedAt = process.hrtime.bigint();
      if (options.failAfterWrite?.() === true)
        throw Object.assign(new Error('IO error: sync failed'), { code: 'LEVEL_IO_ERROR' });
    };
    return batch;
  } as never);
  return calls;
}

describe('durability at the LevelDB boundary', () => {
  test('no receipt is sent before its group’s batch, written with sync: true, has resolved', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const calls = watchBatches({ gate });
    const sequenced = vi.spyOn(world.ledger, 'sequence');
    const events = reports(40);
    let answered = 0;
    const answers = events.map((e) =>
      post(e).then((a) => {
        answered++;
        return a;
      }),
    );
    // Every request is in, the first group's batch is held: nobody may have an answer.
    while (calls.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 300));
    expect(answered).toBe(0);
    // The next group is sequenced while the held one is written, its batch queued behind it; no third yet.
    expect({ sequenced: sequenced.mock.calls.length, written: calls.length }).toEqual({
      sequenced: 2,
      written: 1,
    });
    open();
    const done = await Promise.all(answers);

    expect(done.every((a) => a.status === 201)).toBe(true);
    expect(calls.length).toBeGreaterThanOrEqual(2); // the held group, then the ones that queued behind it
    expect(calls.every((c) => c.sync)).toBe(true);
    for (const a of done) {
      const index = a.body.index as number;
      const group = calls.find((c) => c.from <= index && index < c.to);
      expect(group?.resolvedAt, `no batch wrote index ${index}`).toBeDefined();
      expect(a.at).toBeGreaterThan(group?.resolvedAt as bigint);
      expect(verifyReceipt(a.body as never, world.ledger.logVkey)).toBe(true);
    }
  });

  test('a write failing mid-group: 503 CUSTODY_STORAGE to each request of the group, nothing kept, then recovery', async () => {
    const before = { size: world.ledger.size, checkpoint: world.ledger.checkpoint };
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let failing = true;
    // The first group (one event, the first to arrive) is written; every later group of more than one fails.
    const calls = watchBatches({ gate, fail: (call) => failing && call.to - call.from > 1 });
    const events = reports(30);
    const answers = events.map(post);
    while (calls.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 200)); // the rest queue up behind the held one
    open();
    const answered = await Promise.all(answers);
    const taken = answered.filter((a) => a.status === 201);
    const refused = answered.filter((a) => a.status !== 201);

    for (const a of refused) {
      expect({ status: a.status, code: a.body.code }).toEqual({ status: 503, code: 'CUSTODY_STORAGE' });
      expect(a.body.message).toMatch(/send the same signed events again/);
    }
    const failed = calls.filter((c) => c.resolvedAt === undefined);
    expect(failed.some((c) => c.to - c.from > 1)).toBe(true); // a real group failed, not one event at a time
    // Taken: the groups written before the failed one; refused: its own and those sequenced behind it.
    expect(taken.length).toBe(
      calls.reduce((n, c) => n + (c.resolvedAt === undefined ? 0 : c.to - c.from), 0),
    );
    // Every event of a batch that failed is among the refused (those behind it are too).
    expect(refused.length).toBeGreaterThanOrEqual(failed.reduce((n, c) => n + (c.to - c.from), 0));
    expect(world.ledger.size).toBe(before.size + taken.length);
    const kept = taken.map((a) => a.body.index as number).sort((a, b) => a - b);
    expect(kept).toEqual(taken.map((_, i) => before.size + i));
    for (const e of events.filter((_, i) => answered[i]?.status !== 201)) {
      const serialOf = (e.event.subject as { serials: string[] }).serials[0] as string;
      const history = await fetch(`${url}/v1/items/${serialOf}`);
      expect({ status: history.status, code: ((await history.json()) as { code: string }).code }).toEqual({
        status: 404,
        code: 'CUSTODY_NOT_FOUND',
      });
    }

    failing = false;
    const retried = await Promise.all(events.map(post));
    // The refused are taken as new events (201, not a replay's 200), at the indices the failed group would have had.
    expect(retried.map((a) => a.status)).toEqual(answered.map((a) => (a.status === 201 ? 200 : 201)));
    expect(retried.map((a) => a.body.index as number).sort((a, b) => a - b)).toEqual(
      events.map((_, i) => before.size + i),
    );
    vi.restoreAllMocks();
    expect((await world.ledger.audit()).ok).toBe(true);
  });

  test('a write that lands but answers an error: 503, then the same events get their receipts (200) and new ones the next indices', async () => {
    let failing = true;
    const calls = watchBatches({ failAfterWrite: () => failing });
    const before = world.ledger.size;
    const events = reports(10);
    const refused = await Promise.all(events.map(post));
    for (const a of refused)
      expect({ status: a.status, code: a.body.code }).toEqual({ status: 503, code: 'CUSTODY_STORAGE' });
    failing = false;
    // The first group's batch landed; those sequenced behind it were not written.
    const landed = calls.reduce((n, c) => n + (c.resolvedAt === undefined ? 0 : c.to - c.from), 0);
    expect(landed).toBeGreaterThan(0);

    const again = await Promise.all(events.map(post));
    expect(again.filter((a) => a.status === 200).length).toBe(landed);
    expect(again.filter((a) => a.status === 201).length).toBe(events.length - landed);
    for (const a of again) {
      const index = a.body.index as number;
      // The landed keep the indices they were written at; the others follow them.
      expect(a.status === 200 ? index < before + landed : index >= before + landed).toBe(true);
    }
    const fresh = await post(reports(1)[0] as SignedEvent);
    expect(fresh.status).toBe(201);
    const indices = again.map((a) => a.body.index as number);
    expect(fresh.body.index).toBe(Math.max(...indices) + 1);
    for (const a of [...again, fresh])
      expect(verifyReceipt(a.body as never, world.ledger.logVkey)).toBe(true);
    vi.restoreAllMocks();
    expect((await world.ledger.audit()).ok).toBe(true);
  });
});

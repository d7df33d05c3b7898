import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { verifyBundle } from '../src/bundle.js';
import { Ledger } from '../src/ledger.js';
import { failsWith, tempDir } from './helpers.js';
import { castOf, transfer, World } from './world.js';

let primary: World;
const leavesOf = async (ledger: Ledger, from: number, to: number) =>
  (await ledger.events(from, to)).map((e) => e.leaf);

beforeAll(async () => {
  primary = await World.create();
  await castOf(primary);
  await transfer(primary, { items: ['SN-0001', 'SN-0002', 'SN-0003'] });
}, 60_000);

describe('a mirror ledger', () => {
  test('holds the same leaves, checkpoint, tiles, histories and bundles as its source, and grows with it', async () => {
    const dir = join(tempDir(), 'mirror');
    const mirror = await Ledger.createMirror(dir, { logVkey: primary.ledger.logVkey });
    expect(mirror.size).toBe(0);
    expect(
      await mirror.replicate(
        await leavesOf(primary.ledger, 0, primary.ledger.size),
        primary.ledger.checkpoint,
      ),
    ).toBe(primary.ledger.size);
    expect(mirror.checkpoint).toBe(primary.ledger.checkpoint);
    const tile = { level: 0, index: 0, width: primary.ledger.size } as const;
    expect(Buffer.from(await mirror.tile(tile)).equals(Buffer.from(await primary.ledger.tile(tile)))).toBe(
      true,
    );
    const [ours, theirs] = await Promise.all([
      mirror.history({ serial: 'SN-0002' }, primary.now),
      primary.history({ serial: 'SN-0002' }),
    ]);
    expect({ timeline: ours.timeline, flags: ours.flags, verdict: ours.verdict }).toEqual({
      timeline: theirs.timeline,
      flags: theirs.flags,
      verdict: theirs.verdict,
    });
    expect(
      (
        await verifyBundle(
          JSON.stringify(await mirror.bundle({ serial: 'SN-0002' })),
          primary.ledger.logVkey,
          { now: primary.now },
        )
      ).verdict,
    ).toBe('clean');

    const before = mirror.size;
    await primary.submit(
      'ACME',
      'item.report',
      { serials: ['SN-0003'] },
      { kind: 'stolen', reference: 'P-1' },
    );
    await mirror.replicate(
      await leavesOf(primary.ledger, before, primary.ledger.size),
      primary.ledger.checkpoint,
    );
    expect(mirror.size).toBe(primary.ledger.size);
    await mirror.close();

    // It resumes where it stopped: reopening reads its state, and the audit is clean.
    const reopened = await Ledger.open(dir);
    expect(reopened.checkpoint).toBe(primary.ledger.checkpoint);
    expect((await reopened.audit()).ok).toBe(true);
    expect(
      await failsWith(() =>
        reopened.submitOne(
          primary.sign('ACME', 'item.report', { serials: ['X-1'] }, { kind: 'lost', reference: 'r' }),
        ),
      ),
    ).toBe('CUSTODY_WRONG_LOG_KEY');
    await reopened.close();
  });

  test('refuses, writing nothing, a changed leaf, a leaf out of order, a checkpoint of another tree, or another key', async () => {
    const mirror = await Ledger.createMirror(join(tempDir(), 'mirror'), { logVkey: primary.ledger.logVkey });
    const all = await leavesOf(primary.ledger, 0, primary.ledger.size);
    const changed = all.map((l, i) =>
      i === 9 ? Buffer.from(Buffer.from(l).toString().replace('"received":"2026-', '"received":"2025-')) : l,
    );
    expect(await failsWith(() => mirror.replicate(changed, primary.ledger.checkpoint))).toBe(
      'CUSTODY_BAD_PROOF',
    );
    const swapped = [...all];
    [swapped[3], swapped[4]] = [swapped[4] as Uint8Array, swapped[3] as Uint8Array];
    expect(await failsWith(() => mirror.replicate(swapped, primary.ledger.checkpoint))).toBe(
      'CUSTODY_BAD_PROOF',
    );
    expect(await failsWith(() => mirror.replicate(all.slice(0, -1), primary.ledger.checkpoint))).toBe(
      'CUSTODY_BAD_PROOF',
    );
    const stranger = await World.create();
    expect(await failsWith(() => mirror.replicate(all, stranger.ledger.checkpoint))).toBe(
      'CUSTODY_BAD_SIGNATURE',
    );
    expect(mirror.size).toBe(0);
    expect((await mirror.audit()).ok).toBe(true);
    await mirror.close();
    await stranger.ledger.close();
  });
});

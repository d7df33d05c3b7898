import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { verifyBundle } from '../src/bundle.js';
import { decodeLeaf } from '../src/leaf.js';
import { Ledger } from '../src/ledger.js';
import { Log } from '../src/log.js';
import { generateSecretKey } from '../src/signature.js';
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

  test('catches up in parts, each shown by a consistency proof to lead to the signed tree, serving no checkpoint or history until the last', async () => {
    const dir = join(tempDir(), 'mirror');
    let mirror = await Ledger.createMirror(dir, { logVkey: primary.ledger.logVkey });
    const size = primary.ledger.size;
    const signed = primary.ledger.checkpoint;
    const all = await leavesOf(primary.ledger, 0, size);
    const proofTo = (from: number) => primary.ledger.consistencyProof(from, size);

    // Refused, writing nothing: a proof from another size, a proof with a
    // changed hash, a part that is not the start of the signed tree, and a
    // part without a proof.
    const part = all.slice(0, 7);
    expect(await failsWith(async () => mirror.replicate(part, signed, await proofTo(8)))).toBe(
      'CUSTODY_BAD_PROOF',
    );
    const bent = (await proofTo(7)).map((h, i) => (i === 0 ? h.map((b, j) => (j === 0 ? b ^ 1 : b)) : h));
    expect(await failsWith(() => mirror.replicate(part, signed, bent))).toBe('CUSTODY_BAD_PROOF');
    const changed = part.map((l, i) =>
      i === 6 ? Buffer.from(Buffer.from(l).toString().replace('"received":"2026-', '"received":"2025-')) : l,
    );
    expect(await failsWith(async () => mirror.replicate(changed, signed, await proofTo(7)))).toBe(
      'CUSTODY_BAD_PROOF',
    );
    expect(await failsWith(() => mirror.replicate(part, signed))).toBe('CUSTODY_BAD_PROOF');
    expect(mirror.size).toBe(0);

    expect(await mirror.replicate(part, signed, await proofTo(7))).toBe(7);
    expect({ checkpoint: mirror.checkpoint, accepted: mirror.accepted }).toEqual({
      checkpoint: '',
      accepted: signed,
    });
    expect(await failsWith(() => mirror.history({ serial: 'SN-0002' }))).toBe('CUSTODY_UNAVAILABLE');
    expect(await failsWith(() => mirror.bundle({ serial: 'SN-0002' }))).toBe('CUSTODY_UNAVAILABLE');
    // The part held survives a restart: its state is checked against the proof when opened, and audited.
    await mirror.close();
    mirror = await Ledger.open(dir);
    expect({ size: mirror.size, checkpoint: mirror.checkpoint }).toEqual({ size: 7, checkpoint: '' });
    expect((await mirror.audit()).ok).toBe(true);

    expect(await mirror.replicate(all.slice(7, 12), signed, await proofTo(12))).toBe(12);
    expect(await mirror.replicate(all.slice(12), signed)).toBe(size);
    expect({ checkpoint: mirror.checkpoint, accepted: mirror.accepted }).toEqual({
      checkpoint: signed,
      accepted: signed,
    });
    expect((await mirror.history({ serial: 'SN-0002' }, primary.now)).verdict).toBe(
      (await primary.history({ serial: 'SN-0002' })).verdict,
    );
    await mirror.close();
    mirror = await Ledger.open(dir);
    expect(mirror.checkpoint).toBe(signed);
    expect((await mirror.audit()).ok).toBe(true);
    await mirror.close();
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

  test('refuses a source that signed a tree holding a forged event, naming the first refusal in log order', async () => {
    // A source log whose own key signs whatever it appends: the primary's
    // events, with some signatures changed and one event broken. Nothing is
    // written unless all of it is accepted.
    const source = async (change: (index: number, sig: string) => string, broken?: number) => {
      const log = await Log.create(join(tempDir(), 'source'), {
        origin: primary.ledger.origin,
        secretKey: generateSecretKey(),
      });
      const entries = (await leavesOf(primary.ledger, 0, primary.ledger.size)).map((leaf) =>
        decodeLeaf(leaf),
      );
      await log.append(
        entries.map((e, i) => ({
          received: e.received,
          event: i === broken ? { ...e.event, v: 2 } : e.event,
          sig: change(i, e.sig),
        })),
      );
      const leaves = await Promise.all(entries.map(async (_, i) => (await log.entry(i)).leaf));
      const mirror = await Ledger.createMirror(join(tempDir(), 'mirror'), { logVkey: log.logVkey });
      const refused = await mirror.replicate(leaves, log.checkpoint).then(
        () => 'accepted',
        (e: Error) => e.message,
      );
      expect(mirror.size).toBe(refused === 'accepted' ? leaves.length : 0);
      await mirror.close();
      await log.close();
      return refused;
    };
    const forge = (at: number[]) => (index: number, sig: string) => {
      if (!at.includes(index)) return sig;
      const bytes = Buffer.from(sig, 'base64');
      bytes[5] = (bytes[5] as number) ^ 1;
      return bytes.toString('base64');
    };
    const signer = (index: number) => decodeLeaf(primaryLeaves[index] as Uint8Array).event.signer;
    const primaryLeaves = await leavesOf(primary.ledger, 0, primary.ledger.size);
    expect(await source(forge([12]))).toBe(
      `the source log's entry 12 would be refused here: the signature does not verify with ${signer(12)}'s key ${decodeLeaf(primaryLeaves[12] as Uint8Array).event.key}; sign the event exactly as sent`,
    );
    // Two forged: the first is named. A forged one before a broken one: the forged.
    expect(await source(forge([15, 9]))).toMatch(
      /^the source log's entry 9 would be refused here: the signature/,
    );
    expect(await source(forge([9]), 14)).toMatch(
      /^the source log's entry 9 would be refused here: the signature/,
    );
    // A broken one before a forged one: the broken.
    expect(await source(forge([14]), 9)).toMatch(/^the source log's entry 9 would be refused here: event/);
    expect(await source(forge([]))).toBe('accepted');
  });
});

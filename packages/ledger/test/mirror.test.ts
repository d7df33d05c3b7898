import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { verifyBundle } from '../src/bundle.js';
import { signCheckpoint } from '../src/checkpoint.js';
import { decodeLeaf } from '../src/leaf.js';
import { Ledger } from '../src/ledger.js';
import { Log } from '../src/log.js';
import { ed25519Signer } from '../src/note.js';
import { generateSecretKey } from '../src/signature.js';
import { subtreeKey } from '../src/store.js';
import { failsWith, rawDb, tempDir } from './helpers.js';
import { castOf, LICENCE_BODY, MANUFACTURE, ORIGIN, transfer, World } from './world.js';

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

  test('one that held a whole tree goes on serving that tree, and only it, while it catches up in parts', async () => {
    const dir = join(tempDir(), 'mirror');
    let mirror = await Ledger.createMirror(dir, { logVkey: primary.ledger.logVkey });
    const whole = primary.ledger.size;
    const served = primary.ledger.checkpoint;
    await mirror.replicate(await leavesOf(primary.ledger, 0, whole), served);
    const before = await mirror.history({ serial: 'SN-0001' }, primary.now);

    // The source goes on: a new item, a new licence (a chain), a report on an old item.
    await primary.submit('ACME', 'item.manufacture', { serials: ['SN-0100'] }, MANUFACTURE);
    await primary.submit('DE-BAFA', 'licence.issue', { licence: 'DE-L-2026-0100' }, LICENCE_BODY);
    await primary.submit('ACME', 'item.report', { serials: ['SN-0001'] }, { kind: 'lost', reference: 'P-9' });
    const size = primary.ledger.size;
    const signed = primary.ledger.checkpoint;
    const rest = await leavesOf(primary.ledger, whole, size);
    expect(
      await mirror.replicate(
        rest.slice(0, 2),
        signed,
        await primary.ledger.consistencyProof(whole + 2, size),
      ),
    ).toBe(whole + 2);

    const serving = async (ledger: Ledger) => {
      expect({
        size: ledger.size,
        servedSize: ledger.servedSize,
        checkpoint: ledger.checkpoint,
        accepted: ledger.accepted,
      }).toEqual({ size: whole + 2, servedSize: whole, checkpoint: served, accepted: signed });
      // Histories and bundles of the tree served: the item's later report is not in them yet.
      const history = await ledger.history({ serial: 'SN-0001' }, primary.now);
      expect({ size: history.size, timeline: history.timeline, flags: history.flags }).toEqual({
        size: whole,
        timeline: before.timeline,
        flags: before.flags,
      });
      const bundle = await ledger.bundle({ serial: 'SN-0001' });
      expect(bundle.checkpoint).toBe(served);
      expect(
        (await verifyBundle(JSON.stringify(bundle), primary.ledger.logVkey, { now: primary.now })).verdict,
      ).toBe('clean');
      expect(await failsWith(() => ledger.history({ serial: 'SN-0100' }))).toBe('CUSTODY_NOT_FOUND');
      // Entries, proofs and tiles of that tree only.
      expect((await ledger.events(0, whole)).length).toBe(whole);
      expect(await failsWith(() => ledger.events(0, whole + 1))).toBe('CUSTODY_OUT_OF_RANGE');
      expect(await failsWith(() => ledger.event(whole))).toBe('CUSTODY_OUT_OF_RANGE');
      expect(await failsWith(() => ledger.inclusionProof(0, whole + 1))).toBe('CUSTODY_OUT_OF_RANGE');
      expect((await ledger.consistencyProof(1)).map((h) => Buffer.from(h).toString('hex'))).toEqual(
        (await primary.ledger.consistencyProof(1, whole)).map((h) => Buffer.from(h).toString('hex')),
      );
      expect(await failsWith(() => ledger.tile({ level: 'entries', index: 0, width: whole + 1 }))).toBe(
        'CUSTODY_NOT_FOUND',
      );
      expect(Buffer.from(await ledger.tile({ level: 'entries', index: 0, width: whole }))).toEqual(
        Buffer.from(await primary.ledger.tile({ level: 'entries', index: 0, width: whole })),
      );
      // The new licence's chain has a head the mirror holds but does not serve yet.
      expect(await failsWith(() => ledger.head('licence:DE-L-2026-0100'))).toBe('CUSTODY_UNAVAILABLE');
      expect(await ledger.head('licence:DE-L-2026-0001')).toBe(
        await primary.ledger.head('licence:DE-L-2026-0001'),
      );
    };
    await serving(mirror);
    // The same after a restart, and the audit covers everything held.
    await mirror.close();
    mirror = await Ledger.open(dir);
    await serving(mirror);
    expect(await mirror.audit()).toMatchObject({ ok: true, size: whole + 2 });

    // With the last part, the whole new tree is served.
    expect(await mirror.replicate(rest.slice(2), signed)).toBe(size);
    expect({ servedSize: mirror.servedSize, checkpoint: mirror.checkpoint }).toEqual({
      servedSize: size,
      checkpoint: signed,
    });
    expect((await mirror.history({ serial: 'SN-0100' }, primary.now)).size).toBe(size);
    expect(await mirror.head('licence:DE-L-2026-0100')).toBe(
      await primary.ledger.head('licence:DE-L-2026-0100'),
    );
    await mirror.close();
  });

  /** A mirror closed part way through a catch-up: it holds one entry more than the tree it serves (`whole`). */
  async function partlyCaughtUp(): Promise<{ dir: string; whole: number }> {
    const dir = join(tempDir(), 'mirror');
    const mirror = await Ledger.createMirror(dir, { logVkey: primary.ledger.logVkey });
    const whole = primary.ledger.size;
    await mirror.replicate(await leavesOf(primary.ledger, 0, whole), primary.ledger.checkpoint);
    for (const reference of ['P-10', 'P-11'])
      await primary.submit('ACME', 'item.report', { serials: ['SN-0002'] }, { kind: 'lost', reference });
    const size = primary.ledger.size;
    await mirror.replicate(
      await leavesOf(primary.ledger, whole, whole + 1),
      primary.ledger.checkpoint,
      await primary.ledger.consistencyProof(whole + 1, size),
    );
    await mirror.close();
    return { dir, whole };
  }

  test('refuses to open a mirror whose served checkpoint is not the tree its entries make', async () => {
    const { dir, whole } = await partlyCaughtUp();
    // Signed by the log's own key, of the right size, over another root.
    const forged = signCheckpoint(
      { origin: ORIGIN, size: BigInt(whole), root: new Uint8Array(32).fill(7), extensions: [] },
      ed25519Signer(ORIGIN, primary.secretKey),
    );
    const raw = await rawDb(dir);
    const key = Buffer.from('state');
    const state = JSON.parse(Buffer.from((await raw.meta.get(key)) as Uint8Array).toString('utf8'));
    expect(state.served).toBeDefined();
    await raw.meta.put(key, Buffer.from(JSON.stringify({ ...state, served: forged })));
    await raw.db.close();
    expect(await failsWith(() => Ledger.open(dir))).toBe('CUSTODY_CORRUPT_STATE');
  });

  test('refuses to open a mirror whose stored tree is not the one it serves, where the state’s edge agrees', async () => {
    const { dir, whole } = await partlyCaughtUp();
    // The largest subtree of the tree served is also one of the state's own edge, which the log holds in memory.
    const level = Math.floor(Math.log2(whole));
    const raw = await rawDb(dir);
    await raw.tree.put(subtreeKey(level, 0), new Uint8Array(32).fill(9));
    await raw.db.close();
    expect(await failsWith(() => Ledger.open(dir))).toBe('CUSTODY_CORRUPT_STATE');
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

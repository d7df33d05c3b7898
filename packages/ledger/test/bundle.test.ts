import { fc, test as prop } from '@fast-check/vitest';
import { beforeAll, describe, expect, test } from 'vitest';
import { type Bundle, parseBundle, verifyBundle } from '../src/bundle.js';
import { fromBase64, toBase64 } from '../src/bytes.js';
import { generateKeyPair } from '../src/keys.js';
import { hashLeaf, verifyInclusion } from '../src/merkle.js';
import { ed25519Signer } from '../src/note.js';
import { generateSecretKey, type PublicKey, parsePublicKey, sign } from '../src/signature.js';
import { parseTlogProof } from '../src/tlog-proof.js';
import { castOf, DAY, transfer, World } from './world.js';

let world: World;
let logKey: string;
let clean: Bundle;
let now: Date;

beforeAll(async () => {
  world = await World.create();
  await castOf(world);
  await transfer(world, { items: ['SN-0001', 'SN-0002', 'SN-0003', 'SN-0004', 'SN-0005', 'SN-0006'] });
  logKey = world.ledger.logVkey;
  clean = await world.ledger.bundle({ serial: 'SN-0001' });
  now = world.now;
}, 60_000);

const verify = (b: unknown, options: { now?: Date } = {}) =>
  verifyBundle(typeof b === 'string' ? b : JSON.stringify(b), logKey, { now: options.now ?? now });
const failedCheck = (r: Awaited<ReturnType<typeof verify>>) => r.checks.find((c) => !c.ok)?.name;

describe('evidence bundles', () => {
  test('round-trip: build, serialize, parse, verify clean, with the same flags as the node', async () => {
    const text = JSON.stringify(clean);
    const result = await verify(parseBundle(text));
    expect(result.verdict).toBe('clean');
    expect(result.checks.every((c) => c.ok)).toBe(true);
    const history = await world.history({ serial: 'SN-0001' });
    expect(result.timeline).toEqual(history.timeline);
    expect(result.checkpoint?.size).toBe(String(world.ledger.size));
  });

  test('each entry carries a C2SP tlog-proof that verifies on its own', () => {
    for (const entry of clean.entries) {
      const p = parseTlogProof(entry.proof);
      expect(entry.proof.startsWith('c2sp.org/tlog-proof@v1\nindex ')).toBe(true);
      expect(p.checkpoint).toBe(clean.checkpoint);
      const lines = p.checkpoint.split('\n');
      const size = BigInt(lines[1] as string);
      const root = fromBase64(lines[2] as string);
      expect(verifyInclusion(p.index, size, hashLeaf(fromBase64(entry.leaf)), p.proof, root)).toBe(true);
    }
  });

  test('a flagged history stays flagged offline, judged with the verifier’s own now', async () => {
    const later = new Date(now.getTime() + 400 * DAY);
    const result = await verify(clean, { now: later });
    expect(result.verdict).toBe('clean'); // delivered and verified: nothing becomes overdue
    const w2 = await World.create();
    await castOf(w2);
    await transfer(w2, { items: ['SN-0001'], at: async (step) => step === 'deliver' || step === 'verify' });
    const pending = await w2.ledger.bundle({ serial: 'SN-0001' });
    const soon = await verifyBundle(JSON.stringify(pending), w2.ledger.logVkey, { now: w2.now });
    expect(soon.verdict).toBe('clean');
    const overdue = await verifyBundle(JSON.stringify(pending), w2.ledger.logVkey, {
      now: new Date(w2.now.getTime() + 45 * DAY),
    });
    expect(overdue.verdict).toBe('flagged');
    expect(overdue.flags.map((f) => f.code)).toEqual(['DELIVERY_OVERDUE']);
    expect(overdue.now).toBe(new Date(w2.now.getTime() + 45 * DAY).toISOString());
    await w2.ledger.close();
  });

  test('another log’s key does not verify it', async () => {
    const other = ed25519Signer('custody.test/log', generateSecretKey()).vkey;
    const result = await verifyBundle(JSON.stringify(clean), other, { now });
    expect(result.verdict).toBe('invalid');
    expect(failedCheck(result)).toBe('checkpoint signature');
  });

  test('an entry left out of the middle of a chain makes it invalid, saying so', async () => {
    const transitIndex = clean.entries.findIndex((e) =>
      Buffer.from(e.leaf, 'base64').toString().includes('"NLRTM"'),
    );
    expect(transitIndex).toBeGreaterThan(0);
    const result = await verify({ ...clean, entries: clean.entries.filter((_, i) => i !== transitIndex) });
    expect(result.verdict).toBe('invalid');
    expect(result.problems.join(' ')).toMatch(/missing/);
  });

  test('an entry slipped in that is not part of the history makes it invalid', async () => {
    await world.submit('ACME', 'item.report', { serials: ['SN-0099'] }, { kind: 'lost', reference: 'P-7' });
    const other = await world.ledger.bundle({ serial: 'SN-0099' });
    const foreign = other.entries.at(-1);
    // Re-prove the history against the newer checkpoint, so only the extra entry differs.
    const fresh = await world.ledger.bundle({ serial: 'SN-0001' });
    expect(fresh.entries.some((e) => e.leaf === foreign?.leaf)).toBe(false);
    const result = await verify({ ...fresh, entries: [...fresh.entries, foreign] });
    expect(result.verdict).toBe('invalid');
    expect(failedCheck(result)).toBe('completeness');
    // Mixed with the older bundle, the extra entry's proof leads to another checkpoint.
    const stale = await verify({ ...clean, entries: [...clean.entries, foreign] });
    expect(failedCheck(stale)).toBe('inclusion proofs');
  });

  test.each([
    [
      'a byte of a leaf',
      (b: Bundle) => ({
        ...b,
        entries: b.entries.map((e, i) => (i === 3 ? { ...e, leaf: flipBase64(e.leaf, 40) } : e)),
      }),
      'inclusion proofs',
    ],
    [
      'a proof hash',
      (b: Bundle) => ({
        ...b,
        entries: b.entries.map((e, i) =>
          i === 2
            ? {
                ...e,
                proof: e.proof.replace(
                  /\nindex (\d+)\n(.)/,
                  (_m, n, c) => `\nindex ${n}\n${c === 'A' ? 'B' : 'A'}`,
                ),
              }
            : e,
        ),
      }),
      'inclusion proofs',
    ],
    [
      'the checkpoint',
      (b: Bundle) => ({
        ...b,
        checkpoint: b.checkpoint.replace(/\n(\d+)\n/, (_m, n) => `\n${Number(n) + 1}\n`),
      }),
      'checkpoint signature',
    ],
    [
      'an index',
      (b: Bundle) => ({
        ...b,
        entries: b.entries.map((e, i) =>
          i === 1
            ? { ...e, proof: e.proof.replace(/\nindex (\d+)\n/, (_m, n) => `\nindex ${Number(n) + 1}\n`) }
            : e,
        ),
      }),
      'inclusion proofs',
    ],
    ['the genesis left out', (b: Bundle) => ({ ...b, entries: b.entries.slice(1) }), 'genesis'],
  ])('a change to %s makes it invalid', async (_what, change, check) => {
    const result = await verify(change(clean));
    expect(result.verdict).toBe('invalid');
    expect(failedCheck(result)).toBe(check);
  });

  test('a signature changed inside a leaf is caught even where the proof is rebuilt', async () => {
    // Changing the leaf breaks the inclusion proof first; verifyEvents is the
    // second line: a set of entries whose signatures fail is invalid.
    const { verifyEvents } = await import('../src/history.js');
    const events = (await world.history({ serial: 'SN-0001' })).events.map((e) => ({ ...e }));
    const victim = events[3];
    if (victim === undefined) throw new Error('no entry');
    events[3] = { ...victim, sig: flipBase64(victim.sig, 10) };
    expect(verifyEvents(events).join(' ')).toMatch(/signature of .* does not verify/);
  });

  test('a history checks its signatures on the thread pool and finds what verifyEvents finds, in the same order', async () => {
    const { verifyEvents, verifyEventsAsync } = await import('../src/history.js');
    const events = (await world.history({ serial: 'SN-0001' })).events.map((e) => ({ ...e }));
    expect(await verifyEventsAsync(events)).toEqual([]);
    // Two forged signatures; a key registration and a transit left out (a
    // signer without its key, a broken chain); one event without its message at hand.
    const transit = events.findIndex((e) => e.event.type === 'shipment.transit');
    const changed = events
      .map((e, i) => (i === 3 || i === 5 ? { ...e, sig: flipBase64(e.sig, 10) } : e))
      .filter((_, i) => i !== 4 && i !== transit)
      .map((e, i) => {
        if (i !== 6) return e;
        const { message: _, ...rest } = e;
        return rest;
      });
    const problems = verifyEvents(changed);
    expect(problems.filter((p) => /does not verify/.test(p))).toHaveLength(2);
    expect(problems.some((p) => /no usable key/.test(p))).toBe(true);
    expect(problems.some((p) => /missing/.test(p))).toBe(true);
    expect(await verifyEventsAsync(changed)).toEqual(problems);
  });

  test('checks of one signature at the same time share an answer; a forged one is never taken as verified', async () => {
    const { verifyEventMessageAsync } = await import('../src/events/sign.js');
    const pair = generateKeyPair('SHARED');
    const message = new TextEncoder().encode('custody/event/v1\n{"shared":true}');
    const sig = toBase64(sign(pair.secretKey, message));
    const forged = flipBase64(sig, 5);
    const key = parsePublicKey(pair.publicKey) as PublicKey;
    const other = parsePublicKey(generateKeyPair('OTHER').publicKey) as PublicKey;
    const at = (s: string, k = key) => verifyEventMessageAsync(message, s, k);
    expect(await Promise.all([at(sig, other), at(sig), at(forged), at(sig), at(forged)])).toEqual([
      false,
      true,
      false,
      true,
      false,
    ]);
    expect(await Promise.all([at(forged), at(sig, other), at(sig)])).toEqual([false, false, true]);
  });

  test('a history read after its signer changed keys judges each event under the key it was signed with', async () => {
    const w = await World.create();
    await castOf(w);
    await transfer(w, { items: ['SN-0100'] });
    // ACME's events were signed with its first key; now admission knows only the new one,
    // and the entries are read (and their signatures checked) for the first time after that.
    const fresh = generateKeyPair('ACME');
    await w.submit(
      'REGISTRAR',
      'party.update',
      { party: 'ACME' },
      { name: 'Acme Arms GmbH', roles: ['manufacturer'], country: 'DE', keys: [fresh.vkey] },
    );
    const after = await w.history({ serial: 'SN-0100' });
    expect(after.problems).toEqual([]);
    expect(after.verdict).toBe('clean');
    // The same with a forged signature in the mix: still refused.
    const events = after.events.map((e) =>
      e.event.signer === 'ACME' && e.event.type === 'item.manufacture'
        ? { ...e, sig: flipBase64(e.sig, 9) }
        : e,
    );
    const { verifyEventsAsync } = await import('../src/history.js');
    expect((await verifyEventsAsync(events)).some((p) => /ACME does not verify/.test(p))).toBe(true);
  });

  prop.prop([fc.nat(), fc.integer({ min: 1, max: 255 })], { numRuns: 150 })(
    'any changed byte of a serialized bundle is rejected, or verifies to exactly the same result',
    async (at, delta) => {
      const text = Buffer.from(JSON.stringify(clean), 'utf8');
      const i = at % text.length;
      text[i] = ((text[i] as number) + delta) & 0xff;
      const mutant = text.toString('utf8');
      const result = await verify(mutant);
      if (result.verdict === 'invalid') return;
      // Only a change of the subject itself can pass (another serial of the same
      // shipment has the same evidence); then the result is that serial's, exactly.
      const original = await verify({ ...clean, subject: result.subject });
      expect(result).toEqual(original);
    },
  );
});

function flipBase64(b64: string, byte: number): string {
  const bytes = Buffer.from(b64, 'base64');
  bytes[byte % bytes.length] = (bytes[byte % bytes.length] as number) ^ 0x04;
  return bytes.toString('base64');
}

import { join } from 'node:path';
import { beforeAll, describe, expect, test, vi } from 'vitest';
import { eventHash, signEvent } from '../src/events/sign.js';
import { generateKeyPair } from '../src/keys.js';
import { Ledger } from '../src/ledger.js';
import { Submission } from '../src/sequencer.js';
import { generateSecretKey } from '../src/signature.js';
import { KeySpace } from '../src/store.js';
import { rawDb, tempDir } from './helpers.js';
import { castOf, LICENCE_BODY, ORIGIN, transit, World } from './world.js';

/** Submits, expects a refusal with `code`, and checks that nothing was written. */
async function refused(world: World, input: unknown, code: string) {
  const size = world.ledger.size;
  const checkpoint = world.ledger.checkpoint;
  const [outcome] = await world.ledger.submit([input]);
  expect(outcome?.ok).toBe(false);
  if (outcome?.ok === false) {
    expect(outcome.error.code).toBe(code);
    expect(outcome.error.message.length).toBeGreaterThan(20);
  }
  expect(world.ledger.size).toBe(size);
  expect(world.ledger.checkpoint).toBe(checkpoint);
}

const licence = (id: string) => ({ licence: id });

describe('the sequencer refuses, writes nothing, and says why', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create();
    await castOf(world);
    await world.submit('DE-BAFA', 'licence.issue', licence('L-1'), LICENCE_BODY);
  });

  test('an event that breaks the schema, naming the field', async () => {
    const bad = world.sign('DE-BAFA', 'licence.issue', licence('L-2'), {
      ...LICENCE_BODY,
      route: ['Netherlands'],
    });
    await refused(world, bad, 'CUSTODY_SCHEMA');
    const [outcome] = await world.ledger.submit([bad]);
    expect(outcome?.ok === false && outcome.error.message).toContain('body.route.0');
    await refused(world, { ...bad, extra: 1 }, 'CUSTODY_SCHEMA');
    await refused(world, { event: { ...bad.event, surprise: true }, sig: bad.sig }, 'CUSTODY_SCHEMA');
    await refused(world, 'not an object', 'CUSTODY_SCHEMA');
    await refused(
      world,
      world.sign('DE-BAFA', 'licence.issue', licence('L-2'), { ...LICENCE_BODY, validUntil: '2026-02-30' }),
      'CUSTODY_SCHEMA',
    );
  });

  test('a bad signature, and a valid signature over different bytes', async () => {
    const good = world.sign('DE-BAFA', 'licence.issue', licence('L-3'), LICENCE_BODY);
    const flipped = Buffer.from(good.sig, 'base64');
    flipped[5] = (flipped[5] as number) ^ 1;
    await refused(world, { ...good, sig: flipped.toString('base64') }, 'CUSTODY_BAD_SIGNATURE');
    await refused(
      world,
      { event: { ...good.event, id: 'another-id-1' }, sig: good.sig },
      'CUSTODY_BAD_SIGNATURE',
    );
    await refused(world, { ...good, sig: 'AAAA' }, 'CUSTODY_BAD_SIGNATURE');
  });

  test('an unknown signer, and a key the signer does not have', async () => {
    const stranger = generateKeyPair('XX-NOBODY');
    await refused(
      world,
      signEvent({ ...world.sign('DE-BAFA', 'licence.issue', licence('L-4'), LICENCE_BODY).event }, stranger),
      'CUSTODY_UNKNOWN_SIGNER',
    );
    const otherKey = generateKeyPair('DE-BAFA');
    await refused(
      world,
      world.sign('DE-BAFA', 'licence.issue', licence('L-4'), LICENCE_BODY, { key: otherKey }),
      'CUSTODY_UNKNOWN_KEY',
    );
    // Another party's key under this party's name: the key ID is bound to the name, so it is unknown.
    const borrowed = { ...world.keys.get('NL-CUSTOMS'), name: 'DE-BAFA' } as never;
    await refused(
      world,
      world.sign('DE-BAFA', 'licence.issue', licence('L-4'), LICENCE_BODY, { key: borrowed }),
      'CUSTODY_UNKNOWN_KEY',
    );
  });

  test('a revoked key', async () => {
    const key = await world.register('XX-INSPECT', ['inspector'], 'KE');
    await world.submit(
      'REGISTRAR',
      'party.revoke-key',
      { party: 'XX-INSPECT' },
      { key: key.keyId, reason: 'lost laptop' },
    );
    await refused(
      world,
      world.sign('XX-INSPECT', 'item.report', { serials: ['SN-1'] }, { kind: 'lost', reference: 'r' }),
      'CUSTODY_REVOKED_KEY',
    );
  });

  test('a role that may not sign the type', async () => {
    await refused(
      world,
      world.sign('DE-CUSTOMS', 'licence.issue', licence('L-5'), LICENCE_BODY),
      'CUSTODY_ROLE_NOT_ALLOWED',
    );
    await refused(
      world,
      world.sign(
        'EXPORTCO',
        'party.register',
        { party: 'ME-TOO' },
        { name: 'x', roles: ['registrar'], country: 'DE', keys: [generateKeyPair('ME-TOO').vkey] },
      ),
      'CUSTODY_ROLE_NOT_ALLOWED',
    );
  });

  test('a licence action by an authority that did not issue it', async () => {
    await refused(
      world,
      world.sign('KE-NCC', 'licence.suspend', licence('L-1'), { reason: 'not mine to suspend' }),
      'CUSTODY_NOT_ISSUER',
    );
    await refused(
      world,
      world.sign('DE-BAFA', 'licence.revoke', licence('L-NEVER'), { reason: 'x' }),
      'CUSTODY_UNKNOWN_SUBJECT',
    );
  });

  test('a replayed (signer, id) with another event; the same event again gets its receipt', async () => {
    const first = world.sign(
      'ACME',
      'item.report',
      { serials: ['SN-9'] },
      { kind: 'stolen', reference: 'P-1' },
      { id: 'report-0001' },
    );
    const receipt = await world.send(first);
    const size = world.ledger.size;
    const again = await world.ledger.submit([first]);
    expect(again[0]).toMatchObject({
      ok: true,
      duplicate: true,
      receipt: { index: receipt.index, eventHash: receipt.eventHash },
    });
    expect(world.ledger.size).toBe(size);
    await refused(
      world,
      world.sign(
        'ACME',
        'item.report',
        { serials: ['SN-9'] },
        { kind: 'recovered', reference: 'P-1' },
        { id: 'report-0001' },
      ),
      'CUSTODY_REPLAY',
    );
  });

  test('a stale prev', async () => {
    await refused(
      world,
      world.sign(
        'DE-BAFA',
        'licence.amend',
        licence('L-1'),
        { reason: 'x', terms: { route: ['NL', 'BE'] } },
        { prev: null },
      ),
      'CUSTODY_STALE_PREV',
    );
    await refused(
      world,
      world.sign(
        'DE-BAFA',
        'licence.amend',
        licence('L-1'),
        { reason: 'x', terms: { route: ['NL'] } },
        { prev: 'ab'.repeat(32) },
      ),
      'CUSTODY_STALE_PREV',
    );
    await refused(
      world,
      world.sign(
        'ACME',
        'item.report',
        { serials: ['SN-9'] },
        { kind: 'lost', reference: 'x' },
        { prev: 'ab'.repeat(32) },
      ),
      'CUSTODY_SCHEMA',
    );
  });

  test('a time too far in the future', async () => {
    const later = new Date(world.now.getTime() + 3_600_000).toISOString();
    await refused(
      world,
      world.sign(
        'ACME',
        'item.report',
        { serials: ['SN-9'] },
        { kind: 'lost', reference: 'x' },
        { time: later },
      ),
      'CUSTODY_FUTURE_TIME',
    );
  });

  test('subjects that do not exist, or already do', async () => {
    await refused(
      world,
      world.sign(
        'DE-CUSTOMS',
        'shipment.transit',
        { shipment: 'SHP-NONE' },
        transit('DEHAM', 'DE', { direction: 'exit' }),
      ),
      'CUSTODY_UNKNOWN_SUBJECT',
    );
    await refused(
      world,
      world.sign('DE-BAFA', 'licence.issue', licence('L-1'), LICENCE_BODY),
      'CUSTODY_SUBJECT_EXISTS',
    );
    await refused(
      world,
      world.sign(
        'REGISTRAR',
        'party.register',
        { party: 'ACME' },
        { name: 'again', roles: ['manufacturer'], country: 'DE', keys: [generateKeyPair('ACME').vkey] },
      ),
      'CUSTODY_SUBJECT_EXISTS',
    );
    await refused(
      world,
      world.sign(
        'REGISTRAR',
        'party.register',
        { party: 'BAD-KEY' },
        { name: 'x', roles: ['customs'], country: 'DE', keys: [generateKeyPair('OTHER-NAME').vkey] },
      ),
      'CUSTODY_BAD_KEY',
    );
  });

  test('a correction by someone other than the original signer', async () => {
    const r = await world.submit(
      'ACME',
      'item.report',
      { serials: ['SN-8'] },
      { kind: 'lost', reference: 'typo' },
    );
    await refused(
      world,
      world.sign('EXPORTCO', 'event.correct', { event: r.eventHash }, { reason: 'not yours' }),
      'CUSTODY_NOT_ORIGINAL_SIGNER',
    );
    await refused(
      world,
      world.sign('ACME', 'event.correct', { event: 'cd'.repeat(32) }, { reason: 'nothing there' }),
      'CUSTODY_UNKNOWN_SUBJECT',
    );
    const fixed = await world.submit(
      'ACME',
      'event.correct',
      { event: r.eventHash },
      { reason: 'serial was SN-80' },
    );
    expect(fixed.index).toBe(world.ledger.size - 1);
  });

  test('precheck verifies off the event loop; a pre-check claim for another key does not bypass the sequencer', async () => {
    const good = world.sign('ACME', 'item.report', { serials: ['SN-41'] }, { kind: 'lost', reference: 'pc' });
    const pre = await world.ledger.precheck(good);
    expect('submission' in pre && pre.submission.verifiedWith).toBe(world.keys.get('ACME')?.vkey);
    const flipped = Buffer.from(good.sig, 'base64');
    flipped[9] = (flipped[9] as number) ^ 1;
    const bad = { ...good, sig: flipped.toString('base64') };
    const codeOf = (r: Awaited<ReturnType<Ledger['precheck']>>) => ('error' in r ? r.error.code : undefined);
    expect(codeOf(await world.ledger.precheck(bad))).toBe('CUSTODY_BAD_SIGNATURE');
    expect(codeOf(await world.ledger.precheck({ nope: 1 }))).toBe('CUSTODY_SCHEMA');
    const stranger = await world.ledger.precheck(signEvent({ ...good.event }, generateKeyPair('XX-UNKNOWN')));
    expect('submission' in stranger && stranger.submission.verifiedWith).toBeUndefined();
    const size = world.ledger.size;
    const claimed = Submission.read(bad).verified(world.keys.get('EXPORTCO')?.vkey as string);
    const [outcome] = await world.ledger.submit([claimed]);
    expect(outcome?.ok === false && outcome.error.code).toBe('CUSTODY_BAD_SIGNATURE');
    expect(world.ledger.size).toBe(size);
  });

  test("pre-checks go to the ledger's verification threads; one that dies costs no answer, and a new pool takes over", async () => {
    const good = world.sign('ACME', 'item.report', { serials: ['SN-43'] }, { kind: 'lost', reference: 'vt' });
    const flipped = Buffer.from(good.sig, 'base64');
    flipped[9] = (flipped[9] as number) ^ 1;
    const bad = { ...good, sig: flipped.toString('base64') };
    const outcome = async (input: unknown) => {
      const r = await world.ledger.precheck(input);
      return 'error' in r ? r.error.code : r.submission.verifiedWith;
    };
    const vkey = world.keys.get('ACME')?.vkey;
    type Pool = { engine: string; threads: { worker: { terminate(): Promise<number> } }[] };
    const pool = () => (world.ledger as unknown as { verifier: Pool | undefined }).verifier;
    expect(await outcome(good)).toBe(vkey);
    const first = pool();
    expect(first?.engine).toBe('libsodium');
    // Every thread of it stopped under the checks: they are answered all the same.
    const checks = [good, bad, good, bad].map(outcome);
    await Promise.all(first?.threads.map((t) => t.worker.terminate()) ?? []);
    expect(await Promise.all(checks)).toEqual([vkey, 'CUSTODY_BAD_SIGNATURE', vkey, 'CUSTODY_BAD_SIGNATURE']);
    expect(await outcome(bad)).toBe('CUSTODY_BAD_SIGNATURE');
    expect(await outcome(good)).toBe(vkey);
    expect(pool()).not.toBe(first);
    expect(pool()).toBeDefined();
  });

  test('a pre-check answered while the ledger closes starts no verification threads', async () => {
    const own = await World.create();
    await castOf(own);
    const signed = own.sign('ACME', 'item.report', { serials: ['SN-44'] }, { kind: 'lost', reference: 'cl' });
    type Held = { verifier: { engine: string } | undefined };
    expect('submission' in (await own.ledger.precheck(signed))).toBe(true);
    expect((own.ledger as unknown as Held).verifier?.engine).toBe('libsodium');
    await own.ledger.close();
    // The signer's party is in memory: the check itself still runs, on libuv's pool.
    const late = await own.ledger.precheck(signed);
    expect('submission' in late && late.submission.verifiedWith).toBe(own.keys.get('ACME')?.vkey);
    expect((own.ledger as unknown as Held).verifier).toBeUndefined();
  });

  test('a submission is exactly { event, sig }, in either order; anything else is named', async () => {
    const good = world.sign('ACME', 'item.report', { serials: ['SN-42'] }, { kind: 'lost', reference: 'm' });
    const swapped = { sig: good.sig, event: good.event };
    const pre = await world.ledger.precheck(swapped);
    expect('submission' in pre && pre.submission.verifiedWith).toBe(world.keys.get('ACME')?.vkey);
    const refusal = async (input: unknown) => {
      const r = await world.ledger.precheck(input);
      return 'error' in r ? `${r.error.code} ${r.error.message}` : 'accepted';
    };
    const named = (found: string) =>
      `CUSTODY_SCHEMA a submission has exactly the members event and sig, not ${found}`;
    expect(await refusal({ ...good, x: 1 })).toBe(named('event,sig,x'));
    expect(await refusal({ event: good.event })).toBe(named('event'));
    expect(await refusal({ event: good.event, sign: good.sig })).toBe(named('event,sign'));
    expect(await refusal({ sig: good.sig, events: good.event })).toBe(named('events,sig'));
    expect(await refusal({ event: good.event, event2: good.event })).toBe(named('event,event2'));
  });

  test('a precheck that read a party before a revocation cannot bring the revoked key back', async () => {
    // Reopened with no parties read into memory (as for one beyond
    // partiesAtOpen); the precheck's read of the party is held until after the
    // revocation is committed, then released with the old party.
    const w = await World.create();
    const key = await w.register('XX-RACE', ['inspector'], 'KE');
    await w.ledger.close();
    const ledger = await Ledger.open(w.dir, { secretKey: w.secretKey, clock: () => w.now, partiesAtOpen: 0 });
    const get = KeySpace.prototype.get;
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let held = false;
    const spy = vi.spyOn(KeySpace.prototype, 'get').mockImplementation(async function (
      this: KeySpace,
      k: string,
    ) {
      const value = await get.call(this, k);
      if (!held && k === 'p\u0000XX-RACE') {
        held = true;
        await gate;
      }
      return value;
    });
    const report = w.sign('XX-RACE', 'item.report', { serials: ['SN-77'] }, { kind: 'lost', reference: 'r' });
    const pending = ledger.precheck(report);
    await ledger.submitOne(
      w.sign('REGISTRAR', 'party.revoke-key', { party: 'XX-RACE' }, { key: key.keyId, reason: 'stolen' }),
    );
    release();
    await pending;
    spy.mockRestore();
    expect(held).toBe(true);
    const [outcome] = await ledger.submit([report]);
    expect(outcome?.ok === false && outcome.error.code).toBe('CUSTODY_REVOKED_KEY');
    await ledger.close();
  });

  test.each([
    ['not JSON', '{"id":"XX-DMG",'],
    ['keys that are not keys', '{"id":"XX-DMG","roles":["inspector"],"keys":[null]}'],
  ])(
    'a damaged party record (%s): the ledger still opens, and that party’s events are refused with CUSTODY_CORRUPT_STATE',
    async (_, damaged) => {
      const w = await World.create();
      await w.register('XX-DMG', ['inspector'], 'KE');
      await w.ledger.close();
      const raw = await rawDb(w.dir);
      await raw.db
        .sublevel<string, string>('custody', { keyEncoding: 'utf8', valueEncoding: 'utf8' })
        .put('p\u0000XX-DMG', damaged);
      await raw.db.close();
      const ledger = await Ledger.open(w.dir, { secretKey: w.secretKey, clock: () => w.now });
      const size = ledger.size;
      const report = w.sign(
        'XX-DMG',
        'item.report',
        { serials: ['SN-79'] },
        { kind: 'lost', reference: 'r' },
      );
      const pre = await ledger.precheck(report);
      expect('error' in pre && pre.error.code).toBe('CUSTODY_CORRUPT_STATE');
      const [outcome] = await ledger.submit([report]);
      expect(outcome?.ok === false && [outcome.error.code, outcome.error.status]).toEqual([
        'CUSTODY_CORRUPT_STATE',
        500,
      ]);
      expect(ledger.size).toBe(size);
      await ledger.close();
    },
  );

  test('partiesAtOpen that is not a count: CUSTODY_BAD_INPUT, and the ledger is left closed and unchanged', async () => {
    const w = await World.create();
    await w.ledger.close();
    for (const partiesAtOpen of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const opening = Ledger.open(w.dir, { secretKey: w.secretKey, partiesAtOpen });
      await expect(opening).rejects.toMatchObject({ code: 'CUSTODY_BAD_INPUT', message: /partiesAtOpen/ });
    }
    // Nothing held the folder open: it opens as before, at the same size.
    const ledger = await Ledger.open(w.dir, { secretKey: w.secretKey, clock: () => w.now });
    expect(ledger.size).toBe(1);
    await ledger.close();
  });

  test('a reopened ledger has its parties in memory: checking a signature reads none of them again', async () => {
    const w = await World.create();
    await w.register('XX-WARM', ['inspector'], 'KE');
    await w.ledger.close();
    const reads = async (partiesAtOpen?: number) => {
      const ledger = await Ledger.open(w.dir, { secretKey: w.secretKey, clock: () => w.now, partiesAtOpen });
      const keys: string[] = [];
      const get = vi.spyOn(KeySpace.prototype, 'get');
      const getMany = vi.spyOn(KeySpace.prototype, 'getMany');
      const pre = await ledger.precheck(
        w.sign('XX-WARM', 'item.report', { serials: ['SN-78'] }, { kind: 'lost', reference: 'r' }),
      );
      for (const [k] of get.mock.calls) keys.push(k);
      for (const [ks] of getMany.mock.calls) keys.push(...ks);
      get.mockRestore();
      getMany.mockRestore();
      await ledger.close();
      expect('submission' in pre && pre.submission.verifiedWith).toBe(w.keys.get('XX-WARM')?.vkey);
      return keys;
    };
    expect(await reads()).toEqual([]);
    expect(await reads(1)).toEqual(['p\u0000XX-WARM']); // REGISTRAR comes first in id order
    expect(await reads(0)).toEqual(['p\u0000XX-WARM']);
  });

  test('anything before the genesis, or a second genesis', async () => {
    const dir = join(tempDir(), 'empty');
    const ledger = await Ledger.create(dir, { origin: ORIGIN, secretKey: generateSecretKey() });
    const [outcome] = await ledger.submit([
      world.sign('ACME', 'item.report', { serials: ['SN-9'] }, { kind: 'lost', reference: 'x' }),
    ]);
    expect(outcome?.ok === false && outcome.error.code).toBe('CUSTODY_NO_GENESIS');
    expect(ledger.size).toBe(0);
    await ledger.close();
    const registrar = world.keys.get('REGISTRAR');
    const genesis = world.sign(
      'REGISTRAR',
      'ledger.genesis',
      {},
      {
        origin: ORIGIN,
        registrar: { id: 'REGISTRAR', name: 'x', country: 'CH', keys: [registrar?.vkey as string] },
        policy: { deliveryDays: 1, verificationDays: 1, maxBackdateDays: 1, maxFutureSeconds: 1 },
      },
    );
    await refused(world, genesis, 'CUSTODY_GENESIS_EXISTS');
  });

  test('a group mixes accepted and refused events; only the accepted are written, in order', async () => {
    const size = world.ledger.size;
    const a = world.sign('ACME', 'item.report', { serials: ['SN-31'] }, { kind: 'lost', reference: 'a' });
    const bad = world.sign('DE-CUSTOMS', 'licence.issue', licence('L-9'), LICENCE_BODY);
    const b = world.sign('ACME', 'item.report', { serials: ['SN-32'] }, { kind: 'lost', reference: 'b' });
    const outcomes = await world.ledger.submit([a, bad, b, a]);
    expect(outcomes.map((o) => (o.ok ? o.receipt.index : o.error.code))).toEqual([
      size,
      'CUSTODY_ROLE_NOT_ALLOWED',
      size + 1,
      size,
    ]);
    expect(world.ledger.size).toBe(size + 2);
    expect((await world.ledger.event(size + 1)).hash).toBe(eventHash(b.event));
  });
});

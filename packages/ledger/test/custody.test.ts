import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { signEvent } from '../src/events/sign.js';
import { generateKeyPair } from '../src/keys.js';
import { Ledger } from '../src/ledger.js';
import { ed25519Signer } from '../src/note.js';
import { verifyReceipt } from '../src/receipt.js';
import { generateSecretKey } from '../src/signature.js';
import { indexKey, KeySpace, Store } from '../src/store.js';
import { AUDIT_PRIORITY } from '../src/verify-pool.js';
import { forgeStoredSignature, rawDb, tempDir, threadsAtNice } from './helpers.js';
import { castOf, DAY, HOUR, LICENCE_BODY, MANUFACTURE, ORIGIN, serials, transfer, World } from './world.js';

describe('a clean transfer', () => {
  test('registrar, parties, 100 serials, licence, dispatch, exit, transit, delivery, verification: every serial clean', async () => {
    const world = await World.create();
    await castOf(world);
    const items = await transfer(world);
    for (const serial of items) {
      const h = await world.history({ serial });
      expect({ serial, verdict: h.verdict, flags: h.flags, problems: h.problems }).toEqual({
        serial,
        verdict: 'clean',
        flags: [],
        problems: [],
      });
    }
    const one = await world.history({ serial: 'SN-0042' });
    expect(one.timeline.map((t) => t.type)).toEqual([
      'item.manufacture',
      'licence.issue',
      'shipment.dispatch',
      'shipment.transit',
      'shipment.transit',
      'shipment.deliver',
      'delivery.verify',
    ]);
    expect((await world.ledger.audit()).ok).toBe(true);
    await world.ledger.close();
  }, 60_000);
});

/** A scenario: the clean transfer with one diversion; the affected serial must raise exactly `expected`. */
async function diverted(run: (world: World) => Promise<string>, expected: string[]) {
  const world = await World.create();
  await castOf(world);
  const serial = await run(world);
  const flags = await world.flagsOf(serial);
  await world.ledger.close();
  expect(flags).toEqual(expected);
}

describe('diversions raise exactly their flag', () => {
  test('an unregistered serial slipped into the shipment → UNREGISTERED_ITEM', () =>
    diverted(
      async (w) => {
        await transfer(w, { items: [...serials(100), 'GHOST-1'], manufactured: serials(100) });
        return 'GHOST-1';
      },
      ['UNREGISTERED_ITEM'],
    ));

  test('a serial registered twice by its manufacturer → DUPLICATE_SERIAL', () =>
    diverted(
      async (w) => {
        await w.submit(
          'ACME',
          'item.manufacture',
          { serials: ['SN-0001'] },
          { ...MANUFACTURE, marking: { ...MANUFACTURE.marking, year: 2025 } },
        );
        await transfer(w);
        return 'SN-0001';
      },
      ['DUPLICATE_SERIAL'],
    ));

  test('a dispatch under a licence never issued → NO_LICENCE', () =>
    diverted(
      async (w) => {
        await transfer(w, { licence: 'DE-L-FORGED', at: async (step) => step === 'licence' });
        return 'SN-0010';
      },
      ['NO_LICENCE'],
    ));

  test('a dispatch after the licence expired → LICENCE_NOT_VALID', () =>
    diverted(
      async (w) => {
        await transfer(w, { licenceBody: { validFrom: '2025-01-01', validUntil: '2026-02-28' } });
        return 'SN-0010';
      },
      ['LICENCE_NOT_VALID'],
    ));

  test('a dispatch after the licence was revoked → LICENCE_NOT_VALID', () =>
    diverted(
      async (w) => {
        await transfer(w, {
          at: async (step) => {
            if (step === 'dispatch') {
              await w.submit(
                'DE-BAFA',
                'licence.revoke',
                { licence: 'DE-L-2026-0001' },
                { reason: 'end user sanctioned' },
              );
              w.pass(HOUR);
            }
            return false;
          },
        });
        return 'SN-0010';
      },
      ['LICENCE_NOT_VALID'],
    ));

  test('more items shipped than the licence allows → LICENCE_QUANTITY_EXCEEDED', () =>
    diverted(
      async (w) => {
        await transfer(w, {
          licenceBody: { items: [{ model: 'G36', category: 'assault rifle', quantity: 60 }] },
        });
        return 'SN-0010';
      },
      ['LICENCE_QUANTITY_EXCEEDED'],
    ));

  test('customs of Poland records a transit the licence does not route through → ROUTE_DEVIATION', () =>
    diverted(
      async (w) => {
        await w.register('PL-CUSTOMS', ['customs'], 'PL', 'KAS');
        await transfer(w, { transitCountry: { signer: 'PL-CUSTOMS', country: 'PL', location: 'PLGDN' } });
        // The shipment's and the licence's histories raise it too.
        for (const subject of [{ shipment: 'SHP-1' }, { licence: 'DE-L-2026-0001' }]) {
          expect((await w.history(subject)).flags.map((f) => f.code)).toEqual(['ROUTE_DEVIATION']);
        }
        return 'SN-0010';
      },
      ['ROUTE_DEVIATION'],
    ));

  test('customs sights a serial that was not dispatched → SERIAL_MISMATCH', () =>
    diverted(
      async (w) => {
        await transfer(w, { sighted: ['SN-0001', 'SN-0002', 'XX-9999'] });
        return 'SN-0001';
      },
      ['SERIAL_MISMATCH'],
    ));

  test('the delivery is signed by another consignee → CONSIGNEE_MISMATCH', () =>
    diverted(
      async (w) => {
        await w.register('KE-BROKER', ['consignee'], 'KE', 'Nairobi Trading Ltd');
        await transfer(w, { consignee: 'KE-BROKER' });
        return 'SN-0010';
      },
      ['CONSIGNEE_MISMATCH'],
    ));

  test('the consignee ships delivered items on under the no-re-export licence → REEXPORT_WITHOUT_CONSENT', () =>
    diverted(
      async (w) => {
        const items = await transfer(w);
        w.pass(2 * DAY);
        await w.submit(
          'KE-POLICE',
          'shipment.dispatch',
          { shipment: 'SHP-2' },
          { licence: 'DE-L-2026-0001', serials: items.slice(0, 10), from: 'KEMBA', to: 'SOMGQ', seals: [] },
        );
        return 'SN-0003';
      },
      ['REEXPORT_WITHOUT_CONSENT'],
    ));

  test('an item reported destroyed is then shipped → AFTER_TERMINAL', () =>
    diverted(
      async (w) => {
        await transfer(w, {
          at: async (step) => {
            if (step === 'licence') {
              await w.submit(
                'ACME',
                'item.report',
                { serials: ['SN-0007'] },
                { kind: 'destroyed', reference: 'QA-scrap-17' },
              );
              w.pass(HOUR);
            }
            return false;
          },
        });
        return 'SN-0007';
      },
      ['AFTER_TERMINAL'],
    ));

  test('a transit signed with a key later revoked as compromised since before it → REVOKED_KEY', () =>
    diverted(
      async (w) => {
        const before = new Date(w.now.getTime() + 12 * HOUR).toISOString();
        const key = w.keys.get('DE-CUSTOMS')?.keyId as string;
        await transfer(w);
        await w.submit(
          'REGISTRAR',
          'party.revoke-key',
          { party: 'DE-CUSTOMS' },
          { key, reason: 'workstation stolen', compromisedSince: before },
        );
        return 'SN-0010';
      },
      ['REVOKED_KEY'],
    ));

  test('a marking without manufacturer or country → INCOMPLETE_MARKING', () =>
    diverted(
      async (w) => {
        await transfer(w, { manufacture: { marking: { manufacturer: 'ACME', year: 2026 } } });
        return 'SN-0010';
      },
      ['INCOMPLETE_MARKING'],
    ));

  test('an end-user certificate that expired before dispatch → EUC_PROBLEM', () =>
    diverted(
      async (w) => {
        await transfer(w, { licenceBody: { euc: { ...LICENCE_BODY.euc, expires: '2026-02-15' } } });
        return 'SN-0010';
      },
      ['EUC_PROBLEM'],
    ));

  test('an EUC number already used by another licence → EUC_PROBLEM', () =>
    diverted(
      async (w) => {
        await w.submit(
          'DE-BAFA',
          'licence.issue',
          { licence: 'DE-L-2025-0999' },
          { ...LICENCE_BODY, validFrom: '2025-01-01', validUntil: '2025-12-31' },
        );
        await transfer(w);
        return 'SN-0010';
      },
      ['EUC_PROBLEM'],
    ));

  test('customs finds the seals broken → SEAL_BROKEN', () =>
    diverted(
      async (w) => {
        await transfer(w, { transit: { sealsIntact: false } });
        return 'SN-0010';
      },
      ['SEAL_BROKEN'],
    ));

  test('customs holds the shipment → HELD_OR_SEIZED', () =>
    diverted(
      async (w) => {
        await transfer(w, { transit: { direction: 'entry', outcome: 'held' } });
        return 'SN-0010';
      },
      ['HELD_OR_SEIZED'],
    ));

  test('no delivery within the policy’s 30 days → DELIVERY_OVERDUE', () =>
    diverted(
      async (w) => {
        await transfer(w, { at: async (step) => step === 'deliver' || step === 'verify' });
        w.pass(31 * DAY);
        return 'SN-0010';
      },
      ['DELIVERY_OVERDUE'],
    ));

  test('a delivery the licence requires verified, never verified within 60 days → VERIFICATION_OVERDUE', () =>
    diverted(
      async (w) => {
        await transfer(w, { at: async (step) => step === 'verify' });
        w.pass(61 * DAY);
        return 'SN-0010';
      },
      ['VERIFICATION_OVERDUE'],
    ));

  test('a transit claiming a time before the dispatch → IMPOSSIBLE_TIMELINE', () =>
    diverted(
      async (w) => {
        // The exit is submitted 6 hours after the dispatch but claims 2 days earlier.
        await transfer(w, { exitTimeOffset: -2 * DAY });
        return 'SN-0010';
      },
      ['IMPOSSIBLE_TIMELINE'],
    ));

  test('German customs records a transit in the Netherlands → WRONG_JURISDICTION', () =>
    diverted(
      async (w) => {
        await transfer(w, { transitCountry: { signer: 'DE-CUSTOMS', country: 'NL', location: 'NLRTM' } });
        return 'SN-0010';
      },
      ['WRONG_JURISDICTION'],
    ));

  test('a party that does not hold the items dispatches them → NOT_CUSTODIAN', () =>
    diverted(
      async (w) => {
        await w.register('SHADY-EXPORT', ['exporter'], 'DE', 'Shady Export');
        const items = await transfer(w, { at: async (step) => step !== 'manufacture' && step !== 'licence' });
        await w.submit(
          'DE-BAFA',
          'licence.issue',
          { licence: 'DE-L-2026-0002' },
          {
            ...LICENCE_BODY,
            exporter: 'SHADY-EXPORT',
            euc: { ...LICENCE_BODY.euc, number: 'EUC-2026-0077' },
          },
        );
        await w.submit(
          'SHADY-EXPORT',
          'shipment.dispatch',
          { shipment: 'SHP-9' },
          { licence: 'DE-L-2026-0002', serials: items, from: 'DEHAM', to: 'KEMBA', seals: [] },
        );
        return 'SN-0010';
      },
      ['NOT_CUSTODIAN'],
    ));
});

describe('histories of shipments, licences and parties', () => {
  test('each subject has its own timeline; unknown subjects are not found', async () => {
    const world = await World.create();
    await castOf(world);
    await transfer(world, { items: serials(3) });
    const shipment = await world.history({ shipment: 'SHP-1' });
    expect(shipment.verdict).toBe('clean');
    expect(shipment.timeline.map((t) => t.type)).toEqual([
      'licence.issue',
      'shipment.dispatch',
      'shipment.transit',
      'shipment.transit',
      'shipment.deliver',
      'delivery.verify',
    ]);
    const licence = await world.history({ licence: 'DE-L-2026-0001' });
    expect(licence.timeline.map((t) => t.type)).toEqual([
      'licence.issue',
      'shipment.dispatch',
      'shipment.transit',
      'shipment.transit',
      'shipment.deliver',
      'delivery.verify',
    ]);
    expect(licence.verdict).toBe('clean');
    const party = await world.history({ party: 'NL-CUSTOMS' });
    expect(party.timeline.map((t) => t.type)).toEqual(['party.register']);
    await expect(world.history({ serial: 'NOPE' })).rejects.toMatchObject({ code: 'CUSTODY_NOT_FOUND' });
    await world.ledger.close();
  });

  /** ACME reports `serial` stolen; `correct` files its correction of that report. */
  const stolenReport = (world: World, serial: string) =>
    world.submit('ACME', 'item.report', { serials: [serial] }, { kind: 'stolen', reference: `PD-${serial}` });
  const correct = (world: World, eventHash: string) =>
    world.submit('ACME', 'event.correct', { event: eventHash }, { reason: 'filed against the wrong serial' });
  const reportThenCorrection = (fix: { eventHash: string }) => [
    ['item.report', [fix.eventHash]],
    ['event.correct', []],
  ];

  test('a correction appears beside the event it corrects, which stays as it was', async () => {
    const world = await World.create();
    await castOf(world);
    const report = await stolenReport(world, 'SN-0001');
    world.pass(HOUR);
    const fix = await correct(world, report.eventHash);
    const h = await world.history({ serial: 'SN-0001' });
    expect(h.timeline.map((t) => [t.type, t.correctedBy])).toEqual(reportThenCorrection(fix));
    await world.ledger.close();
  });

  test('a correction filed after the corrections were read (they are held in memory) still appears', async () => {
    const world = await World.create();
    await castOf(world);
    const report = await stolenReport(world, 'SN-0002');
    const before = await world.history({ serial: 'SN-0002' });
    expect(before.timeline.map((t) => t.correctedBy)).toEqual([[]]);
    const fix = await correct(world, report.eventHash);
    const scans = vi.spyOn(KeySpace.prototype, 'scan');
    const after = await world.history({ serial: 'SN-0002' });
    // Every correction lookup answered from memory, this group's included.
    expect(scans.mock.calls.filter(([prefix]) => prefix.startsWith('i\u0000corrects:'))).toEqual([]);
    scans.mockRestore();
    expect(after.timeline.map((t) => [t.type, t.correctedBy])).toEqual(reportThenCorrection(fix));
    // Reopened, the corrections are read from the store again.
    await world.ledger.close();
    const reopened = await Ledger.open(world.dir);
    const again = await reopened.history({ serial: 'SN-0002' }, world.now);
    expect(again.timeline.map((t) => t.correctedBy)).toEqual([[fix.eventHash], []]);
    await reopened.close();
  });
});

describe('receipts and audit', () => {
  test('a receipt proves inclusion offline against its signed checkpoint', async () => {
    const world = await World.create();
    await castOf(world);
    const receipt = await world.submit(
      'ACME',
      'item.report',
      { serials: ['SN-1'] },
      { kind: 'lost', reference: 'r' },
    );
    const key = world.ledger.logVkey;
    expect(verifyReceipt(receipt, key)).toBe(true);
    expect((await world.ledger.event(receipt.index)).hash).toBe(receipt.eventHash);
    // Another index, another leaf, another log key, a stripped proof: none verifies.
    expect(verifyReceipt({ ...receipt, index: receipt.index - 1 }, key)).toBe(false);
    expect(verifyReceipt({ ...receipt, leafHash: receipt.eventHash }, key)).toBe(false);
    expect(verifyReceipt(receipt, ed25519Signer(world.ledger.origin, new Uint8Array(32).fill(5)).vkey)).toBe(
      false,
    );
    expect(verifyReceipt({ ...receipt, inclusionProof: receipt.inclusionProof.slice(1) }, key)).toBe(false);
    await world.ledger.close();
  });

  test('the audit re-verifies every event signature and names a forged one', async () => {
    const world = await World.create();
    await castOf(world);
    await transfer(world, { items: serials(2) });
    expect((await world.ledger.audit()).ok).toBe(true);
    const target = 12;
    await world.ledger.close();
    const raw = await rawDb(world.dir);
    await forgeStoredSignature(raw, target);
    await raw.db.close();
    const reopened = await Ledger.open(world.dir);
    const report = await reopened.audit();
    expect(report.problem).toMatchObject({ kind: 'entry', index: target });
    expect(report.problem?.message).toMatch(/signature/);
    await reopened.close();
  });

  test.runIf(process.platform === 'linux')(
    "the audit's signature threads run below its own thread's priority",
    async () => {
      const world = await World.create();
      await castOf(world);
      await transfer(world, { items: serials(2) });
      const before = threadsAtNice(AUDIT_PRIORITY);
      const seen: number[] = [];
      const report = await world.ledger.audit({ onProgress: () => seen.push(threadsAtNice(AUDIT_PRIORITY)) });
      expect(report.ok).toBe(true);
      // Its threads, one a core (the last report comes before they stop), and none once it is done.
      expect(seen.at(-1)).toBe(before + availableParallelism());
      expect(threadsAtNice(AUDIT_PRIORITY)).toBe(before);
      await world.ledger.close();
    },
  );

  test('signatures answer late (thread pool), yet the audit names the first problem in log order', async () => {
    const world = await World.create();
    await castOf(world);
    await transfer(world, { items: serials(2) });
    await world.ledger.close();
    const raw = await rawDb(world.dir);
    await forgeStoredSignature(raw, 12);
    await forgeStoredSignature(raw, 7);
    await raw.leaves.put(indexKey(15), Buffer.from('not an entry'));
    await raw.db.close();
    const audit = async () => {
      const ledger = await Ledger.open(world.dir);
      const report = await ledger.audit();
      await ledger.close();
      return report.problem;
    };
    expect(await audit()).toMatchObject({ kind: 'entry', index: 7 });
    // A structural problem before any forged signature is the one named.
    const again = await rawDb(world.dir);
    await again.leaves.put(indexKey(4), Buffer.from('not an entry'));
    await again.db.close();
    expect(await audit()).toMatchObject({ kind: 'malformed-entry', index: 4 });
  });
});

/** The next commit writes its batch, then reports an error, as if its acknowledgement was lost. */
function landNextCommitThenFail() {
  const commit = Store.prototype.commit;
  return vi.spyOn(Store.prototype, 'commit').mockImplementationOnce(async function (this: Store, ...args) {
    await commit.apply(this, args);
    throw new Error('the acknowledgement was lost');
  });
}

describe('a write that lands but reports an error', () => {
  test('the next group takes the indices after it: its receipt proves, the landed event is found, the audit is clean', async () => {
    const world = await World.create();
    await castOf(world);
    const spy = landNextCommitThenFail();
    const landed = world.sign('ACME', 'item.manufacture', { serials: ['ACK-1'] }, MANUFACTURE);
    await expect(world.ledger.submitOne(landed)).rejects.toThrow();
    spy.mockRestore();

    const next = await world.submit('ACME', 'item.manufacture', { serials: ['ACK-2'] }, MANUFACTURE);
    expect(verifyReceipt(next, world.ledger.logVkey)).toBe(true);
    expect((await world.ledger.event(next.index)).event.subject).toEqual({ serials: ['ACK-2'] });
    // The event reported as failed is in the log: sent again, it gets its receipt.
    const again = await world.ledger.submitOne(landed);
    expect(again.index).toBe(next.index - 1);
    expect(verifyReceipt(again, world.ledger.logVkey)).toBe(true);
    for (const serial of ['ACK-1', 'ACK-2']) {
      const h = await world.history({ serial });
      expect(h.events.filter((e) => e.event.type === 'item.manufacture').map((e) => e.event.subject)).toEqual(
        [{ serials: [serial] }],
      );
    }
    expect((await world.ledger.audit()).ok).toBe(true);
    await world.ledger.close();
  });
});

describe('a genesis whose write lands but reports an error', () => {
  test('the next group is admitted under its policy', async () => {
    const now = new Date('2026-03-02T08:00:00Z');
    const ledger = await Ledger.create(join(tempDir(), 'ledger'), {
      origin: ORIGIN,
      secretKey: generateSecretKey(),
      clock: () => now,
    });
    const registrar = generateKeyPair('REGISTRAR');
    const sign = (type: string, subject: object, body: object, time = now) =>
      signEvent(
        {
          type,
          id: `evt-${type.replaceAll('.', '_')}-${time.getTime()}`,
          time: time.toISOString(),
          prev: null,
          subject,
          body,
        } as never,
        registrar,
      );
    const genesis = sign(
      'ledger.genesis',
      {},
      {
        origin: ORIGIN,
        registrar: { id: 'REGISTRAR', name: 'Custody registrar', country: 'CH', keys: [registrar.vkey] },
        // One second, not the default 300: what the next event is held to shows whose policy it is.
        policy: { deliveryDays: 30, verificationDays: 60, maxBackdateDays: 7, maxFutureSeconds: 1 },
      },
    );
    const spy = landNextCommitThenFail();
    await expect(ledger.submitOne(genesis)).rejects.toMatchObject({ code: 'CUSTODY_STORAGE' });
    spy.mockRestore();

    const register = (party: string, time: Date) =>
      sign(
        'party.register',
        { party },
        { name: party, roles: ['manufacturer'], country: 'DE', keys: [generateKeyPair(party).vkey] },
        time,
      );
    await expect(ledger.submitOne(register('AHEAD', new Date(now.getTime() + 60_000)))).rejects.toMatchObject(
      {
        code: 'CUSTODY_FUTURE_TIME',
      },
    );
    expect((await ledger.submitOne(register('ACME', now))).index).toBe(1);
    await ledger.close();
  });
});

describe('a group sequenced while the one before it is written', () => {
  /** Holds the next commit until `release`, then lets it write, or fail without writing. */
  const holdNextCommit = () => {
    const commit = Store.prototype.commit;
    let release: (outcome: 'write' | 'fail') => void = () => undefined;
    const released = new Promise<'write' | 'fail'>((resolve) => {
      release = resolve;
    });
    const spy = vi.spyOn(Store.prototype, 'commit').mockImplementationOnce(async function (
      this: Store,
      ...args
    ) {
      if ((await released) === 'fail') throw new Error('the disk is full');
      await commit.apply(this, args);
    });
    return { release, restore: () => spy.mockRestore() };
  };

  test('is admitted on the state the one before it leaves, and answered after it is written', async () => {
    const world = await World.create();
    await castOf(world);
    const held = holdNextCommit();
    const newco = generateKeyPair('NEWCO');
    world.keys.set('NEWCO', newco);
    const registration = world.sign(
      'REGISTRAR',
      'party.register',
      { party: 'NEWCO' },
      { name: 'NewCo', roles: ['manufacturer'], country: 'DE', keys: [newco.vkey] },
    );
    const first = await world.ledger.sequence([registration]);
    // The registration is not on disk yet; the next group signed by the party it registers is sequenced on it.
    const manufacture = world.sign(
      'NEWCO',
      'item.manufacture',
      { serials: ['NEW-1'] },
      { ...MANUFACTURE, marking: { ...MANUFACTURE.marking, manufacturer: 'NEWCO' } },
    );
    const second = await world.ledger.sequence([manufacture, registration]);
    // A group of nothing new but a repeat of an entry being written.
    const third = await world.ledger.sequence([registration]);
    let answered = false;
    void Promise.race([second.outcomes, third.outcomes]).then(() => {
      answered = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toBe(false);
    const size = world.ledger.size;
    held.release('write');
    held.restore();
    const [registered] = await first.outcomes;
    const [made, again] = await second.outcomes;
    const [repeated] = await third.outcomes;
    expect(registered).toMatchObject({ ok: true, duplicate: false, receipt: { index: size } });
    expect(made).toMatchObject({ ok: true, duplicate: false, receipt: { index: size + 1 } });
    // The repeated registration is found in the group written before, with its receipt.
    expect(again).toMatchObject({ ok: true, duplicate: true, receipt: { index: size } });
    expect(repeated).toMatchObject({ ok: true, duplicate: true, receipt: { index: size } });
    for (const o of [registered, made, again, repeated]) {
      if (!o?.ok) throw new Error('refused');
      expect(verifyReceipt(o.receipt, world.ledger.logVkey)).toBe(true);
    }
    expect((await world.ledger.audit()).ok).toBe(true);
    await world.ledger.close();
  });

  test('fails with it when its write fails: nothing of either is written, and the next group follows the last written', async () => {
    const world = await World.create();
    await castOf(world);
    const size = world.ledger.size;
    const held = holdNextCommit();
    const failing = world.sign('ACME', 'item.manufacture', { serials: ['LOST-1'] }, MANUFACTURE);
    const first = await world.ledger.sequence([failing]);
    const lost = world.sign('ACME', 'item.manufacture', { serials: ['LOST-2'] }, MANUFACTURE);
    const second = await world.ledger.sequence([lost]);
    // A repeat of an entry whose write then fails has no receipt either.
    const third = await world.ledger.sequence([failing]);
    held.release('fail');
    held.restore();
    for (const outcomes of [await first.outcomes, await second.outcomes, await third.outcomes]) {
      expect(outcomes).toMatchObject([{ ok: false, error: { code: 'CUSTODY_STORAGE', status: 503 } }]);
    }
    expect(world.ledger.size).toBe(size);
    // Sent again, the event is admitted where the failed groups would have begun.
    const again = await world.ledger.submitOne(lost);
    expect(again.index).toBe(size);
    expect(verifyReceipt(again, world.ledger.logVkey)).toBe(true);
    await expect(world.history({ serial: 'LOST-1' })).rejects.toMatchObject({ code: 'CUSTODY_NOT_FOUND' });
    expect((await world.ledger.audit()).ok).toBe(true);
    await world.ledger.close();
  });
});

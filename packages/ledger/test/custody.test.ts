import { describe, expect, test } from 'vitest';
import { castOf, DAY, HOUR, serials, transfer, World } from './world.js';

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
        const items = [...serials(100), 'GHOST-1'];
        await transfer(w, {
          items,
          at: async (step) => {
            if (step !== 'manufacture') return;
            await w.submit(
              'ACME',
              'item.manufacture',
              { serials: serials(100) },
              {
                make: 'Acme',
                model: 'G36',
                category: 'assault rifle',
                calibre: '5.56x45mm',
                marking: { manufacturer: 'ACME', country: 'DE', year: 2026 },
                site: 'Oberndorf',
                holder: 'EXPORTCO',
              },
            );
            return true;
          },
        });
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
          {
            make: 'Acme',
            model: 'G36',
            category: 'assault rifle',
            calibre: '5.56x45mm',
            marking: { manufacturer: 'ACME', country: 'DE', year: 2025 },
            site: 'Oberndorf',
            holder: 'EXPORTCO',
          },
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
});

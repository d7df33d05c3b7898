/** Rules about who holds the items and what each hand saw. */
import { type Flag, flag } from './flag.js';
import { type Model, termsAt } from './model.js';

export function custodyRules(model: Model): Flag[] {
  const flags: Flag[] = [...custodians(model)];
  for (const shipment of model.focusShipments) {
    const dispatch = shipment.dispatch;
    if (dispatch === undefined) continue;
    const sent = new Set(dispatch.event.body.serials);
    const extra = (serials: readonly string[]) => serials.filter((s) => !sent.has(s));

    for (const t of shipment.transits) {
      const unexpected = extra(t.event.body.serialsSighted ?? []);
      if (unexpected.length > 0) {
        flags.push(
          flag(
            'SERIAL_MISMATCH',
            [dispatch.index, t.index],
            `customs at ${t.event.body.location} sighted ${unexpected.join(', ')}, not dispatched in shipment ${shipment.id}`,
          ),
        );
      }
      if (!t.event.body.sealsIntact) {
        flags.push(
          flag(
            'SEAL_BROKEN',
            [t.index],
            `the seals of shipment ${shipment.id} were found broken at ${t.event.body.location}`,
          ),
        );
      }
      if (t.event.body.outcome !== 'released') {
        flags.push(
          flag(
            'HELD_OR_SEIZED',
            [t.index],
            `customs ${t.event.body.outcome} shipment ${shipment.id} at ${t.event.body.location}`,
          ),
        );
      }
    }
    for (const d of shipment.deliveries) {
      const received = new Set(d.event.body.serialsReceived);
      const unexpected = extra(d.event.body.serialsReceived);
      const missing = [...sent].filter((s) => !received.has(s));
      if (unexpected.length > 0 || missing.length > 0) {
        const parts = [
          missing.length && `missing ${missing.join(', ')}`,
          unexpected.length && `unexpected ${unexpected.join(', ')}`,
        ];
        flags.push(
          flag(
            'SERIAL_MISMATCH',
            [dispatch.index, d.index],
            `the delivery of shipment ${shipment.id} differs from its dispatch: ${parts.filter(Boolean).join('; ')}`,
          ),
        );
      }
      const licence = model.licences.get(dispatch.event.body.licence);
      const consignee = licence === undefined ? undefined : termsAt(licence, dispatch.event.time)?.consignee;
      if (consignee !== undefined && d.event.signer !== consignee) {
        flags.push(
          flag(
            'CONSIGNEE_MISMATCH',
            [dispatch.index, d.index],
            `shipment ${shipment.id} was received by ${d.event.signer}, but licence ${licence?.id} names consignee ${consignee}`,
          ),
        );
      }
    }
    for (const v of shipment.verifications) {
      const unexpected = extra(v.event.body.serialsConfirmed);
      if (unexpected.length > 0) {
        flags.push(
          flag(
            'SERIAL_MISMATCH',
            [dispatch.index, v.index],
            `the verification of shipment ${shipment.id} confirms ${unexpected.join(', ')}, which was not dispatched`,
          ),
        );
      }
    }
  }
  return flags;
}

type Custody =
  | { held: string }
  | { inTransit: string; licence: string; noReexport: boolean }
  | { delivered: string; licence: string; noReexport: boolean };

/**
 * Follows each focused serial from hand to hand: the manufacturer (or the
 * holder it names) holds it; a dispatch puts it in transit; a delivery hands
 * it to the receiver. A dispatch by anyone but the holder is a custody gap,
 * and a delivered item leaving again under its old no-re-export licence is a
 * re-export without consent.
 */
function custodians(model: Model): Flag[] {
  const flags: Flag[] = [];
  for (const serial of model.focusSerials) {
    const made = model.manufactures.get(serial)?.[0];
    if (made === undefined) continue; // unregistered: its own flag
    let state = { held: made.event.body.holder ?? made.event.signer } as Custody;
    for (const e of model.events) {
      if (e.index <= made.index) continue;
      if (e.event.type === 'shipment.dispatch' && e.event.body.serials.includes(serial)) {
        const licenceId = e.event.body.licence;
        const holder = 'held' in state ? state.held : 'delivered' in state ? state.delivered : undefined;
        if (holder !== e.event.signer) {
          const where = holder === undefined ? 'while it was in transit' : `while ${holder} held it`;
          flags.push(
            flag('NOT_CUSTODIAN', [e.index], `${e.event.signer} dispatched serial ${serial} ${where}`),
          );
        }
        if ('delivered' in state && state.noReexport && state.licence === licenceId) {
          flags.push(
            flag(
              'REEXPORT_WITHOUT_CONSENT',
              [e.index],
              `serial ${serial}, delivered under licence ${licenceId} with no re-export, left again under the same licence`,
            ),
          );
        }
        const licence = model.licences.get(licenceId);
        const terms = licence === undefined ? undefined : termsAt(licence, e.event.time);
        state = {
          inTransit: e.event.subject.shipment,
          licence: licenceId,
          noReexport: terms?.conditions.noReexport ?? false,
        };
      } else if (
        e.event.type === 'shipment.deliver' &&
        'inTransit' in state &&
        e.event.subject.shipment === state.inTransit
      ) {
        state = { delivered: e.event.signer, licence: state.licence, noReexport: state.noReexport };
      }
    }
  }
  return flags;
}

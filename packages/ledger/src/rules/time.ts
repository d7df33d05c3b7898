/** Rules about when things happened, and what should have happened by now. */
import { chainOf } from '../events/vocabulary.js';
import { type Flag, flag } from './flag.js';
import { DAY_MS, type Model, ms, termsAt } from './model.js';

export function timeRules(model: Model): Flag[] {
  const { policy, now } = model;
  const flags: Flag[] = [];
  for (const shipment of model.focusShipments) {
    const dispatch = shipment.dispatch;
    if (dispatch === undefined) continue;
    const seized = shipment.transits.some((t) => t.event.body.outcome === 'seized');
    const due = ms(dispatch.event.time) + policy.deliveryDays * DAY_MS;
    const delivery = shipment.deliveries[0];
    if (
      !seized &&
      ((delivery === undefined && now.getTime() > due) ||
        (delivery !== undefined && ms(delivery.event.time) > due))
    ) {
      flags.push(
        flag(
          'DELIVERY_OVERDUE',
          [dispatch.index, ...(delivery ? [delivery.index] : [])],
          `shipment ${shipment.id} was ${delivery ? 'delivered' : 'not delivered'} within ${policy.deliveryDays} days of dispatch`,
        ),
      );
    }
    const licence = model.licences.get(dispatch.event.body.licence);
    const needsVerification =
      licence !== undefined && termsAt(licence, dispatch.event.time)?.conditions.deliveryVerification;
    if (needsVerification && delivery !== undefined) {
      const verifyBy = ms(delivery.event.time) + policy.verificationDays * DAY_MS;
      const verified = shipment.verifications[0];
      if (
        (verified === undefined && now.getTime() > verifyBy) ||
        (verified !== undefined && ms(verified.event.time) > verifyBy)
      ) {
        flags.push(
          flag(
            'VERIFICATION_OVERDUE',
            [delivery.index, ...(verified ? [verified.index] : [])],
            `the delivery of shipment ${shipment.id} was ${verified ? 'not verified' : 'never verified'} within ${policy.verificationDays} days, as licence ${licence.id} requires`,
          ),
        );
      }
    }
    for (const serial of dispatch.event.body.serials) {
      const made = model.manufactures.get(serial)?.[0];
      if (made !== undefined && made.event.time > dispatch.event.time && model.focusSerials.has(serial)) {
        flags.push(
          flag(
            'IMPOSSIBLE_TIMELINE',
            [made.index, dispatch.index],
            `serial ${serial} was dispatched before it was made`,
          ),
        );
      }
    }
  }

  // Within each chain, claimed times must not run backwards.
  const last = new Map<string, { time: string; index: number }>();
  for (const e of model.events) {
    const chain = chainOf(e.event);
    if (chain === undefined) continue;
    const before = last.get(chain);
    if (before !== undefined && e.event.time < before.time) {
      flags.push(
        flag(
          'IMPOSSIBLE_TIMELINE',
          [before.index, e.index],
          `${e.event.type} by ${e.event.signer} claims a time before the event it follows on ${chain}`,
        ),
      );
    }
    last.set(chain, { time: e.event.time, index: e.index });
  }
  for (const e of model.events) {
    const late = ms(e.received) - ms(e.event.time);
    if (late > policy.maxBackdateDays * DAY_MS) {
      flags.push(
        flag(
          'IMPOSSIBLE_TIMELINE',
          [e.index],
          `${e.event.type} by ${e.event.signer} claims ${e.event.time} but reached the log ${Math.floor(late / DAY_MS)} days later`,
        ),
      );
    }
  }
  return flags;
}

/** Rules about the items themselves: registration, markings, terminal reports. */
import type { LoggedEvent } from '../events/schema.js';
import { serialsOf } from '../events/vocabulary.js';
import { type Flag, flag } from './flag.js';
import type { Model } from './model.js';

/** Events that move an item (as opposed to registering or reporting it). */
const MOVES = new Set(['shipment.dispatch', 'shipment.transit', 'shipment.deliver']);

function eventsNaming(model: Model, serial: string): LoggedEvent[] {
  return model.events.filter((e) => serialsOf(e.event).includes(serial));
}

export function itemRules(model: Model): Flag[] {
  const flags: Flag[] = [];
  for (const serial of model.focusSerials) {
    const made = model.manufactures.get(serial) ?? [];
    const firstMade = made[0]?.index ?? Number.POSITIVE_INFINITY;

    const unregistered = eventsNaming(model, serial).filter(
      (e) => (MOVES.has(e.event.type) || e.event.type === 'item.report') && e.index < firstMade,
    );
    if (unregistered.length > 0) {
      flags.push(
        flag(
          'UNREGISTERED_ITEM',
          unregistered.map((e) => e.index),
          `serial ${serial} was ${unregistered[0]?.event.type === 'item.report' ? 'reported' : 'shipped'} but no manufacturer registered it`,
        ),
      );
    }

    const bySigner = new Map<string, number[]>();
    for (const m of made) bySigner.set(m.event.signer, [...(bySigner.get(m.event.signer) ?? []), m.index]);
    for (const [manufacturer, indices] of bySigner) {
      if (indices.length > 1) {
        flags.push(
          flag(
            'DUPLICATE_SERIAL',
            indices,
            `${manufacturer} registered serial ${serial} ${indices.length} times`,
          ),
        );
      }
    }

    for (const m of made) {
      const { manufacturer, country } = m.event.body.marking;
      const missing = [!manufacturer?.trim() && 'manufacturer', !country?.trim() && 'country'].filter(
        Boolean,
      );
      if (missing.length > 0) {
        flags.push(
          flag(
            'INCOMPLETE_MARKING',
            [m.index],
            `the marking of serial ${serial} lacks its ${missing.join(' and ')}`,
          ),
        );
      }
    }

    flags.push(...afterTerminal(model, serial));
  }
  return flags;
}

/** Movement after a destruction, or after a loss or theft that no recovery ended: one flag per item. */
function afterTerminal(model: Model, serial: string): Flag[] {
  let terminal: LoggedEvent | undefined;
  const moves: LoggedEvent[] = [];
  let reported: LoggedEvent | undefined;
  for (const e of eventsNaming(model, serial)) {
    if (e.event.type === 'item.report') {
      const kind = e.event.body.kind;
      if (kind === 'destroyed' || kind === 'lost' || kind === 'stolen') terminal ??= e;
      if (
        kind === 'recovered' &&
        terminal?.event.type === 'item.report' &&
        terminal.event.body.kind !== 'destroyed'
      ) {
        terminal = undefined;
      }
    } else if (terminal !== undefined && MOVES.has(e.event.type)) {
      reported ??= terminal;
      moves.push(e);
    }
  }
  if (reported === undefined || reported.event.type !== 'item.report') return [];
  return [
    flag(
      'AFTER_TERMINAL',
      [reported.index, ...moves.map((m) => m.index)],
      `serial ${serial} moved ${moves.length} time(s) (first: ${moves[0]?.event.type}) after it was reported ${reported.event.body.kind}`,
    ),
  ];
}

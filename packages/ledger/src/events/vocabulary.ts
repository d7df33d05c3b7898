/**
 * What each event type means to the log: who may sign it, which chain its
 * `prev` belongs to, and under which keys it is indexed. One table each, so
 * the sequencer, the history and bundle verification cannot disagree.
 */
import type { CustodyEvent, EventType, Role } from './schema.js';

/** Authorities: the parties whose word on an item's fate carries weight. */
const AUTHORITIES: Role[] = ['licensing-authority', 'customs', 'inspector'];

/**
 * Roles that may sign each type. 'party.revoke-key' may also be signed by the
 * party itself, and 'event.correct' only by the corrected event's signer; the
 * sequencer checks those two relations.
 */
export const MAY_SIGN: Readonly<Record<EventType, readonly Role[]>> = {
  'ledger.genesis': ['registrar'],
  'party.register': ['registrar'],
  'party.update': ['registrar'],
  'party.revoke-key': ['registrar'],
  'item.manufacture': ['manufacturer'],
  'licence.issue': ['licensing-authority'],
  'licence.amend': ['licensing-authority'],
  'licence.suspend': ['licensing-authority'],
  'licence.revoke': ['licensing-authority'],
  'shipment.dispatch': ['exporter'],
  'shipment.transit': ['customs'],
  'shipment.deliver': ['consignee'],
  'delivery.verify': ['licensing-authority', 'inspector'],
  'item.report': [...AUTHORITIES, 'manufacturer', 'exporter', 'consignee'],
  'event.correct': [...AUTHORITIES, 'manufacturer', 'exporter', 'consignee', 'carrier', 'registrar'],
};

/**
 * The chain an event extends: `prev` must be the hash of the chain's latest
 * event. Item events name sets of serials rather than one subject, so they
 * start no chain (`prev` is null); their order is the log's order.
 */
export function chainOf(event: CustodyEvent): string | undefined {
  const s = event.subject as Record<string, string | undefined>;
  if (s.party !== undefined) return `party:${s.party}`;
  if (s.licence !== undefined) return `licence:${s.licence}`;
  if (s.shipment !== undefined) return `shipment:${s.shipment}`;
  if (s.event !== undefined) return `event:${s.event}`;
  return undefined;
}

/** Serial numbers an event names, in any role. */
export function serialsOf(event: CustodyEvent): readonly string[] {
  switch (event.type) {
    case 'item.manufacture':
    case 'item.report':
      return event.subject.serials;
    case 'shipment.dispatch':
      return event.body.serials;
    case 'shipment.transit':
      return event.body.serialsSighted ?? [];
    case 'shipment.deliver':
      return event.body.serialsReceived;
    case 'delivery.verify':
      return event.body.serialsConfirmed;
    default:
      return [];
  }
}

/** The prefix of the keys under which an event's corrections are found (`corrects:HASH`). */
export const CORRECTIONS = 'corrects:';

/**
 * The keys an event is found under: `serial:S`, `shipment:X`, `licence:L`,
 * `party:P`, `euc:ISSUER:NUMBER` (clear EUC numbers, to catch reuse) and
 * `corrects:HASH`. Histories and bundles are gathered by these keys.
 */
export function indexKeysOf(event: CustodyEvent): string[] {
  const keys = new Set<string>();
  const chain = chainOf(event);
  if (chain !== undefined && !chain.startsWith('event:')) keys.add(chain);
  for (const serial of serialsOf(event)) keys.add(`serial:${serial}`);
  switch (event.type) {
    case 'ledger.genesis':
      keys.add(`party:${event.body.registrar.id}`);
      break;
    case 'shipment.dispatch':
      keys.add(`licence:${event.body.licence}`);
      break;
    case 'licence.issue': {
      const euc = eucKeyOf(event);
      if (euc !== undefined) keys.add(euc);
      break;
    }
    case 'event.correct':
      keys.add(`${CORRECTIONS}${event.subject.event}`);
      break;
  }
  return [...keys];
}

/** The key of a licence's clear EUC number (`euc:ISSUER:NUMBER`), if it has one. */
export function eucKeyOf(event: CustodyEvent): string | undefined {
  if (event.type !== 'licence.issue') return undefined;
  const euc = event.body.euc;
  return euc !== undefined && typeof euc.number === 'string' ? `euc:${euc.issuer}:${euc.number}` : undefined;
}

/**
 * The keys an event is found under, each with the keys a history (history.ts
 * `gather`) looks up next because it found the event there: from a serial,
 * its dispatch's shipment and licence; from a shipment, a dispatch's
 * licence; from a licence, its EUC number. The index rows carry them, so
 * that a reader can ask for the next round's keys while it reads this
 * round's entries. They only let it ask sooner: what a history holds never
 * depends on them. A serial's later events in its shipment (transits,
 * delivery, verification) name nothing: a history takes the keys of all the
 * rows it scans, and the dispatch's row has named the shipment already
 * (a serial found in a shipment that never dispatched it, which is a red
 * flag, costs that history a round). One row per serial per event is most
 * of what an event writes, so this is bytes LevelDB does not compact.
 */
export function indexRowsOf(event: CustodyEvent): [key: string, next: string[]][] {
  const dispatch =
    event.type === 'shipment.dispatch'
      ? [`shipment:${event.subject.shipment}`, `licence:${event.body.licence}`]
      : undefined;
  const euc = eucKeyOf(event);
  return indexKeysOf(event).map((key) => {
    if (key.startsWith('serial:')) return [key, dispatch ?? []];
    if (key.startsWith('shipment:')) return [key, dispatch?.slice(1) ?? []];
    if (key.startsWith('licence:')) return [key, euc === undefined ? [] : [euc]];
    return [key, []];
  });
}

/**
 * Every key an index row of `event` may name to look up next: its shipment,
 * a dispatch's licence, a licence's EUC number. Rows written before carried
 * more of them than `indexRowsOf` now writes (a serial's row named the
 * event's shipment on every event of it), or none; the audit accepts any of
 * these, and names a row that names another key.
 */
export function nextKeysAllowed(event: CustodyEvent): Set<string> {
  const shipment = (event.subject as { shipment?: string }).shipment;
  const euc = eucKeyOf(event);
  return new Set([
    ...(shipment === undefined ? [] : [`shipment:${shipment}`]),
    ...(event.type === 'shipment.dispatch' ? [`licence:${event.body.licence}`] : []),
    ...(euc === undefined ? [] : [euc]),
  ]);
}

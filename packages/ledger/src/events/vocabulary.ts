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
    case 'licence.issue':
      if (event.body.euc !== undefined && typeof event.body.euc.number === 'string') {
        keys.add(`euc:${event.body.euc.issuer}:${event.body.euc.number}`);
      }
      break;
    case 'event.correct':
      keys.add(`corrects:${event.subject.event}`);
      break;
  }
  return [...keys];
}

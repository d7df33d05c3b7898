/** One line per event for timelines: what happened, in words an investigator uses. */
import type { CustodyEvent } from './schema.js';

const list = (xs: readonly string[], max = 3) =>
  xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} and ${xs.length - max} more`;

export function describe(event: CustodyEvent): string {
  switch (event.type) {
    case 'ledger.genesis':
      return `log ${event.body.origin} started; registrar ${event.body.registrar.id}`;
    case 'party.register':
      return `registered ${event.subject.party} (${event.body.name}, ${event.body.country}) as ${event.body.roles.join(', ')}`;
    case 'party.update':
      return `updated ${event.subject.party}: ${event.body.roles.join(', ')}, ${event.body.keys.length} key(s)`;
    case 'party.revoke-key':
      return `revoked key ${event.body.key} of ${event.subject.party}: ${event.body.reason}${event.body.compromisedSince ? ` (compromised since ${event.body.compromisedSince})` : ''}`;
    case 'item.manufacture':
      return `manufactured ${event.subject.serials.length} × ${event.body.make} ${event.body.model} (${event.body.calibre}) at ${event.body.site}`;
    case 'licence.issue':
      return `issued licence ${event.subject.licence}: ${event.body.exporter} → ${event.body.consignee}, ${event.body.items.map((i) => `${i.quantity} × ${i.model}`).join(', ')}, valid ${event.body.validFrom}..${event.body.validUntil}`;
    case 'licence.amend':
      return `amended licence ${event.subject.licence} (${Object.keys(event.body.terms).join(', ')}): ${event.body.reason}`;
    case 'licence.suspend':
      return `suspended licence ${event.subject.licence}: ${event.body.reason}`;
    case 'licence.revoke':
      return `revoked licence ${event.subject.licence}: ${event.body.reason}`;
    case 'shipment.dispatch':
      return `dispatched shipment ${event.subject.shipment} (${event.body.serials.length} items: ${list(event.body.serials)}) ${event.body.from} → ${event.body.to} under licence ${event.body.licence}`;
    case 'shipment.transit':
      return `${event.body.direction} at ${event.body.location} (${event.body.country}): ${event.body.outcome}${event.body.sealsIntact ? '' : ', seals broken'}${event.body.inspected ? ', inspected' : ''}`;
    case 'shipment.deliver':
      return `received shipment ${event.subject.shipment} at ${event.body.location} (${event.body.serialsReceived.length} items)`;
    case 'delivery.verify':
      return `verified delivery of ${event.subject.shipment} (${event.body.method}): ${event.body.serialsConfirmed.length} items confirmed, end use ${event.body.endUseConfirmed ? 'confirmed' : 'NOT confirmed'}`;
    case 'item.report':
      return `reported ${list(event.subject.serials)} ${event.body.kind}${event.body.location ? ` at ${event.body.location}` : ''} (ref. ${event.body.reference})`;
    case 'event.correct':
      return `corrected event ${event.subject.event.slice(0, 12)}…: ${event.body.reason}`;
  }
}

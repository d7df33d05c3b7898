/** Rules about licences and end-user certificates. */
import { canonicalJson, type JsonValue } from '../canonical.js';
import { type Flag, flag } from './flag.js';
import { dayOf, type Logged, type Model, termsAt } from './model.js';

export function licenceRules(model: Model): Flag[] {
  const flags: Flag[] = [];
  for (const shipment of model.focusShipments) {
    const dispatch = shipment.dispatch;
    if (dispatch === undefined) continue;
    const id = dispatch.event.body.licence;
    const licence = model.licences.get(id);
    const issue = licence?.issue;
    if (licence === undefined || issue === undefined || issue.index > dispatch.index) {
      flags.push(
        flag(
          'NO_LICENCE',
          [dispatch.index],
          `shipment ${shipment.id} was dispatched under licence ${id}, which was never issued`,
        ),
      );
      continue;
    }
    const terms = termsAt(licence, dispatch.event.time);
    const day = dayOf(dispatch.event.time);
    if (terms !== undefined && (day < terms.validFrom || day > terms.validUntil)) {
      flags.push(
        flag(
          'LICENCE_NOT_VALID',
          [issue.index, dispatch.index],
          `shipment ${shipment.id} left on ${day}, outside licence ${id}'s validity ${terms.validFrom} to ${terms.validUntil}`,
        ),
      );
    }
    const stop = licence.stops.find((s) => s.event.time <= dispatch.event.time);
    if (stop !== undefined) {
      const what = stop.event.type === 'licence.revoke' ? 'revoked' : 'suspended';
      flags.push(
        flag(
          'LICENCE_NOT_VALID',
          [stop.index, dispatch.index],
          `shipment ${shipment.id} was dispatched after licence ${id} was ${what}`,
        ),
      );
    }
    const euc = terms?.euc;
    if (euc !== undefined && day > euc.expires) {
      flags.push(
        flag(
          'EUC_PROBLEM',
          [issue.index, dispatch.index],
          `the end-user certificate of licence ${id} expired on ${euc.expires}, before dispatch on ${day}`,
        ),
      );
    }
  }

  for (const licence of model.focusLicences) {
    if (licence.issue === undefined) continue;
    flags.push(
      ...quantity(model, licence.id, licence.issue, licence.dispatches),
      ...eucRules(model, licence.id, licence.issue),
    );
  }
  return flags;
}

/** Distinct serials shipped under the licence, per model, against the quantity licensed. */
function quantity(
  model: Model,
  id: string,
  issue: Logged<'licence.issue'>,
  dispatches: readonly Logged<'shipment.dispatch'>[],
): Flag[] {
  const latest = dispatches.at(-1);
  const licence = model.licences.get(id);
  const terms =
    latest !== undefined && licence !== undefined ? termsAt(licence, latest.event.time) : undefined;
  if (terms === undefined) return [];
  const shipped = new Map<string, Set<string>>();
  const crossing = new Map<string, number>();
  for (const d of dispatches) {
    for (const serial of d.event.body.serials) {
      const model_ = model.manufactures.get(serial)?.[0]?.event.body.model;
      if (model_ === undefined) continue; // unregistered: its own flag
      const set = shipped.get(model_) ?? new Set<string>();
      set.add(serial);
      shipped.set(model_, set);
      const allowed = terms.items.filter((i) => i.model === model_).reduce((n, i) => n + i.quantity, 0);
      if (set.size > allowed && !crossing.has(model_)) crossing.set(model_, d.index);
    }
  }
  return [...crossing].map(([itemModel, at]) => {
    const allowed = terms.items.filter((i) => i.model === itemModel).reduce((n, i) => n + i.quantity, 0);
    return flag(
      'LICENCE_QUANTITY_EXCEEDED',
      [issue.index, at],
      `${shipped.get(itemModel)?.size} items of model ${itemModel} were shipped under licence ${id}, which allows ${allowed}`,
    );
  });
}

const same = (a: JsonValue, b: JsonValue) => canonicalJson(a) === canonicalJson(b);

function eucRules(model: Model, id: string, issue: Logged<'licence.issue'>): Flag[] {
  const body = issue.event.body;
  const euc = body.euc;
  if (euc === undefined)
    return [flag('EUC_PROBLEM', [issue.index], `licence ${id} was issued without an end-user certificate`)];
  const flags: Flag[] = [];
  if (euc.consignee !== undefined && euc.consignee !== body.consignee) {
    flags.push(
      flag(
        'EUC_PROBLEM',
        [issue.index],
        `the end-user certificate of licence ${id} names consignee ${euc.consignee}, the licence ${body.consignee}`,
      ),
    );
  }
  if (euc.endUser !== undefined && !same(euc.endUser, body.endUser)) {
    flags.push(
      flag(
        'EUC_PROBLEM',
        [issue.index],
        `the end-user certificate of licence ${id} names another end user than the licence`,
      ),
    );
  }
  if (typeof euc.number === 'string') {
    const reuse = [...model.licences.values()].filter(
      (l) =>
        l.id !== id &&
        l.issue?.event.body.euc?.number === euc.number &&
        l.issue.event.body.euc.issuer === euc.issuer,
    );
    if (reuse.length > 0) {
      flags.push(
        flag(
          'EUC_PROBLEM',
          [issue.index, ...reuse.map((l) => l.issue?.index ?? issue.index)],
          `end-user certificate ${euc.number} of licence ${id} is also used by licence ${reuse.map((l) => l.id).join(', ')}`,
        ),
      );
    }
  }
  return flags;
}

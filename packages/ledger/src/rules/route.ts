/** Rules about where things happen and who may say so. */
import { type Flag, flag } from './flag.js';
import { type Model, termsAt } from './model.js';

export function routeRules(model: Model): Flag[] {
  const flags: Flag[] = [];
  const countryOf = (party: string) => model.registry.get(party)?.country;
  for (const shipment of model.focusShipments) {
    const dispatch = shipment.dispatch;
    if (dispatch === undefined) continue;
    const licence = model.licences.get(dispatch.event.body.licence);
    const terms = licence === undefined ? undefined : termsAt(licence, dispatch.event.time);
    const allowed = new Set([
      ...(terms?.route ?? []),
      dispatch.event.body.from.slice(0, 2),
      dispatch.event.body.to.slice(0, 2),
      ...[terms?.exporter, terms?.consignee].flatMap((p) => (p === undefined ? [] : [countryOf(p) ?? ''])),
    ]);
    for (const t of shipment.transits) {
      if (terms !== undefined && !allowed.has(t.event.body.country)) {
        flags.push(
          flag(
            'ROUTE_DEVIATION',
            [dispatch.index, t.index],
            `shipment ${shipment.id} passed through ${t.event.body.country} (${t.event.body.location}), which licence ${licence?.id} does not route through`,
          ),
        );
      }
      const signerCountry = countryOf(t.event.signer);
      if (signerCountry !== undefined && signerCountry !== t.event.body.country) {
        flags.push(
          flag(
            'WRONG_JURISDICTION',
            [t.index],
            `customs of ${signerCountry} (${t.event.signer}) recorded a transit in ${t.event.body.country}`,
          ),
        );
      }
    }
    const consigneeCountry = terms === undefined ? undefined : countryOf(terms.consignee);
    for (const v of shipment.verifications) {
      const c = countryOf(v.event.signer);
      if (c !== undefined && consigneeCountry !== undefined && c !== consigneeCountry) {
        flags.push(
          flag(
            'WRONG_JURISDICTION',
            [v.index],
            `${v.event.signer} of ${c} verified a delivery into ${consigneeCountry}`,
          ),
        );
      }
    }
  }
  for (const licence of model.focusLicences) {
    const issue = licence.issue;
    if (issue === undefined) continue;
    const authority = countryOf(issue.event.signer);
    const exporter = countryOf(issue.event.body.exporter);
    if (authority !== undefined && exporter !== undefined && authority !== exporter) {
      flags.push(
        flag(
          'WRONG_JURISDICTION',
          [issue.index],
          `licence ${licence.id} for an exporter in ${exporter} was issued by ${issue.event.signer} of ${authority}`,
        ),
      );
    }
  }
  return flags;
}

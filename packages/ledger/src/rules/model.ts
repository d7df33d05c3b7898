/**
 * The view every rule reads: the events about a subject, sorted into
 * manufactures, licences, shipments and reports, with the registry and policy
 * as the log had them. Built once per judgement from plain values.
 */
import type { CustodyEvent, EventOfType, LoggedEvent, Policy } from '../events/schema.js';
import { Registry } from '../registry.js';

export type Logged<T extends CustodyEvent['type']> = LoggedEvent & { readonly event: EventOfType<T> };

export interface LicenceView {
  readonly id: string;
  readonly issue?: Logged<'licence.issue'>;
  readonly amendments: Logged<'licence.amend'>[];
  readonly stops: (Logged<'licence.suspend'> | Logged<'licence.revoke'>)[];
  readonly dispatches: Logged<'shipment.dispatch'>[];
}

export type LicenceTerms = EventOfType<'licence.issue'>['body'];

export interface ShipmentView {
  readonly id: string;
  readonly dispatch?: Logged<'shipment.dispatch'>;
  readonly transits: Logged<'shipment.transit'>[];
  readonly deliveries: Logged<'shipment.deliver'>[];
  readonly verifications: Logged<'delivery.verify'>[];
}

/** What a judgement is about: flags concern these serials, shipments and licences. */
export interface Focus {
  readonly serials?: readonly string[];
  readonly shipments?: readonly string[];
  readonly licences?: readonly string[];
}

export interface Model {
  readonly now: Date;
  readonly policy: Policy;
  readonly events: readonly LoggedEvent[];
  readonly registry: Registry;
  readonly manufactures: Map<string, Logged<'item.manufacture'>[]>;
  readonly reports: Map<string, Logged<'item.report'>[]>;
  readonly licences: Map<string, LicenceView>;
  readonly shipments: Map<string, ShipmentView>;
  /** Serials in focus (given, or carried by the focused shipments). */
  readonly focusSerials: ReadonlySet<string>;
  /** Shipments that carry a focused serial, or are focused themselves. */
  readonly focusShipments: readonly ShipmentView[];
  /** Licences of the focused shipments, or focused themselves. */
  readonly focusLicences: readonly LicenceView[];
}

export const DEFAULT_POLICY: Policy = {
  deliveryDays: 30,
  verificationDays: 90,
  maxBackdateDays: 7,
  maxFutureSeconds: 300,
};

const is = <T extends CustodyEvent['type']>(e: LoggedEvent, type: T): e is Logged<T> => e.event.type === type;

function getOrAdd<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

export function buildModel(events: readonly LoggedEvent[], focus: Focus, now: Date): Model {
  const sorted = [...events].sort((a, b) => a.index - b.index);
  const registry = new Registry();
  const manufactures = new Map<string, Logged<'item.manufacture'>[]>();
  const reports = new Map<string, Logged<'item.report'>[]>();
  const licences = new Map<string, LicenceView>();
  const shipments = new Map<string, ShipmentView>();
  let policy = DEFAULT_POLICY;
  const licence = (id: string) =>
    getOrAdd(licences, id, () => ({ id, amendments: [], stops: [], dispatches: [] }) as LicenceView);
  const shipment = (id: string) =>
    getOrAdd(shipments, id, () => ({ id, transits: [], deliveries: [], verifications: [] }) as ShipmentView);

  for (const e of sorted) {
    registry.apply(e.event, e.index);
    if (is(e, 'ledger.genesis')) policy = e.event.body.policy;
    else if (is(e, 'item.manufacture'))
      for (const s of e.event.subject.serials) getOrAdd(manufactures, s, () => []).push(e);
    else if (is(e, 'item.report'))
      for (const s of e.event.subject.serials) getOrAdd(reports, s, () => []).push(e);
    else if (is(e, 'licence.issue')) (licence(e.event.subject.licence) as { issue?: unknown }).issue ??= e;
    else if (is(e, 'licence.amend')) licence(e.event.subject.licence).amendments.push(e);
    else if (is(e, 'licence.suspend') || is(e, 'licence.revoke'))
      licence(e.event.subject.licence).stops.push(e);
    else if (is(e, 'shipment.dispatch')) {
      (shipment(e.event.subject.shipment) as { dispatch?: unknown }).dispatch ??= e;
      licence(e.event.body.licence).dispatches.push(e);
    } else if (is(e, 'shipment.transit')) shipment(e.event.subject.shipment).transits.push(e);
    else if (is(e, 'shipment.deliver')) shipment(e.event.subject.shipment).deliveries.push(e);
    else if (is(e, 'delivery.verify')) shipment(e.event.subject.shipment).verifications.push(e);
  }

  const focusSerials = new Set(focus.serials ?? []);
  // A focused shipment or licence brings its items into focus; a focused item, the shipments that carried it.
  const chosen = (s: ShipmentView) =>
    focus.shipments?.includes(s.id) === true ||
    (s.dispatch !== undefined && focus.licences?.includes(s.dispatch.event.body.licence) === true);
  const focusShipments = [...shipments.values()].filter(
    (s) => chosen(s) || s.dispatch?.event.body.serials.some((serial) => focusSerials.has(serial)) === true,
  );
  for (const s of focusShipments) {
    if (chosen(s)) for (const serial of s.dispatch?.event.body.serials ?? []) focusSerials.add(serial);
  }
  const licenceIds = new Set([
    ...(focus.licences ?? []),
    ...focusShipments.flatMap((s) => (s.dispatch ? [s.dispatch.event.body.licence] : [])),
  ]);
  const focusLicences = [...licenceIds].map((id) => licence(id));
  return {
    now,
    policy,
    events: sorted,
    registry,
    manufactures,
    reports,
    licences,
    shipments,
    focusSerials,
    focusShipments,
    focusLicences,
  };
}

/** The licence's terms in force at `time`: the issue overlaid by amendments made by then, in log order. */
export function termsAt(licence: LicenceView, time: string): LicenceTerms | undefined {
  if (licence.issue === undefined) return undefined;
  let terms: LicenceTerms = licence.issue.event.body;
  for (const a of licence.amendments) {
    if (a.event.time <= time) terms = { ...terms, ...a.event.body.terms } as LicenceTerms;
  }
  return terms;
}

/** The date part of an RFC 3339 time, for comparing with calendar dates. */
export const dayOf = (time: string): string => time.slice(0, 10);

export const DAY_MS = 86_400_000;
export const ms = (time: string): number => Date.parse(time);

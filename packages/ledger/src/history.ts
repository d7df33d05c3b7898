/**
 * Histories: everything the log holds about a serial, shipment, licence or
 * party, the checks that make it trustworthy, and the verdict. Gathering goes
 * through a `Lookup` of index keys, so the same code gathers from LevelDB for
 * the node and from a bundle's own entries for an offline verifier; if a
 * bundle holds anything the gathering would not reach, it is refused.
 */
import { describe } from './events/describe.js';
import type { LoggedEvent } from './events/schema.js';
import {
  verifyEvent,
  verifyEventMessage,
  verifyEventMessageAsync,
  verifyMessageAsync,
} from './events/sign.js';
import { CORRECTIONS, chainOf, eucKeyOf, indexKeysOf, serialsOf } from './events/vocabulary.js';
import { keyUsableAt, Registry } from './registry.js';
import { type Flag, judge } from './rules/index.js';
import type { Focus } from './rules/model.js';
import type { PublicKey } from './signature.js';

export type Subject =
  | { readonly serial: string }
  | { readonly shipment: string }
  | { readonly licence: string }
  | { readonly party: string };

/** Events found under an index key (see vocabulary.ts `indexKeysOf`), in log order. */
export type Lookup = (key: string) => Promise<readonly LoggedEvent[]>;

export function subjectKey(subject: Subject): string {
  const [kind, id] = Object.entries(subject)[0] as [string, string];
  return `${kind}:${id}`;
}

/**
 * The closure of a subject: its own events; the shipments that carried its
 * items and all their events; their licences, every dispatch under them and
 * the manufacture of every item so dispatched (for quantities); licences
 * sharing an EUC number; corrections of all of these; the registrations and
 * revocations of every party they name; and the genesis (policy, registrar).
 * Its rounds (subject, shipments, licences, EUC numbers) are the ones the index
 * rows name ahead (vocabulary.ts `indexRowsOf`): change them together.
 */
export async function gather(subject: Subject, lookup: Lookup, genesis: LoggedEvent): Promise<LoggedEvent[]> {
  const found = new Map<number, LoggedEvent>();
  // Corrections of every event found and the events of every party it names
  // are asked for as soon as it is found, alongside the steps below rather
  // than after them: each step is a trip to the store, and a history is
  // read while someone waits. They add only corrections and party events,
  // which no step below looks at, so the steps see the same events either way.
  const askedParties = new Set<string>();
  const askedCorrections = new Set<string>();
  const following: Promise<void>[] = [];
  const follow = (e: LoggedEvent) => {
    const keys: string[] = [];
    if (!askedCorrections.has(e.hash)) {
      askedCorrections.add(e.hash);
      keys.push(`${CORRECTIONS}${e.hash}`);
    }
    for (const party of partiesNamed(e)) {
      if (askedParties.has(party)) continue;
      askedParties.add(party);
      keys.push(`party:${party}`);
    }
    if (keys.length > 0) following.push(ask(keys));
  };
  const add = (events: readonly LoggedEvent[], only?: (e: LoggedEvent) => boolean) => {
    for (const e of events) {
      if ((only !== undefined && !only(e)) || found.has(e.index)) continue;
      found.set(e.index, e);
      follow(e);
    }
  };
  const all = () => [...found.values()];
  // Lookups that do not depend on each other go to the store together.
  const ask = async (keys: Iterable<string>, only?: (e: LoggedEvent) => boolean) => {
    for (const events of await Promise.all([...keys].map(lookup))) add(events, only);
  };
  add([genesis]);
  add(await lookup(subjectKey(subject)));

  const shipments = new Set<string>();
  for (const e of all()) {
    const s = (e.event.subject as { shipment?: string }).shipment;
    if (s !== undefined) shipments.add(s);
  }
  await ask([...shipments].map((s) => `shipment:${s}`));

  const licences = new Set('licence' in subject ? [subject.licence] : []);
  for (const e of all()) if (e.event.type === 'shipment.dispatch') licences.add(e.event.body.licence);
  const underLicences = await Promise.all([...licences].map((l) => lookup(`licence:${l}`)));
  for (const events of underLicences) add(events);
  for (const events of underLicences) {
    for (const e of events) {
      if (e.event.type !== 'shipment.dispatch') continue;
      for (const serial of e.event.body.serials) {
        // Items are registered in batches: one lookup usually finds the whole batch.
        const known = all().some(
          (m) => m.event.type === 'item.manufacture' && m.event.subject.serials.includes(serial),
        );
        if (!known) add(await lookup(`serial:${serial}`), (m) => m.event.type === 'item.manufacture');
      }
    }
  }
  const eucs = new Set<string>();
  for (const e of all()) {
    const euc = eucKeyOf(e.event);
    if (euc !== undefined) eucs.add(euc);
  }
  await ask(eucs, (x) => x.event.type === 'licence.issue');

  while (following.length > 0) await Promise.all(following.splice(0));
  return all().sort((a, b) => a.index - b.index);
}

function partiesNamed(e: LoggedEvent): string[] {
  const out = [e.event.signer];
  const ev = e.event;
  if (ev.type === 'licence.issue') out.push(ev.body.exporter, ev.body.consignee);
  if (ev.type === 'shipment.dispatch' && ev.body.carrier !== undefined) out.push(ev.body.carrier);
  if (ev.type === 'item.manufacture' && ev.body.holder !== undefined) out.push(ev.body.holder);
  if ('party' in ev.subject) out.push((ev.subject as { party: string }).party);
  return out;
}

/** An in-memory Lookup over a set of events (a bundle's). */
export function lookupIn(events: readonly LoggedEvent[]): Lookup {
  const byKey = new Map<string, LoggedEvent[]>();
  for (const e of [...events].sort((a, b) => a.index - b.index)) {
    for (const key of indexKeysOf(e.event)) byKey.set(key, [...(byKey.get(key) ?? []), e]);
  }
  return async (key) => byKey.get(key) ?? [];
}

/**
 * Checks events one at a time, in log order: each signature with the key its
 * signer had at that entry (the registry is rebuilt as it goes), and each
 * chain: an event's `prev` must be the hash of its chain's previous event
 * seen. Serves bundle verification (over a set) and audits (over the log).
 */
export class EventChecker {
  private readonly registry = new Registry();
  private readonly heads = new Map<string, string>();

  /** What is wrong with this event, given all earlier ones; empty if nothing. */
  check(e: LoggedEvent): string[] {
    const { publicKey, chain } = this.step(e);
    if (publicKey === undefined) return [noKey(e), ...chain];
    const ok =
      e.message === undefined
        ? verifyEvent(e.event, e.sig, publicKey)
        : verifyEventMessage(e.message, e.sig, publicKey);
    return ok ? chain : [badSignature(e), ...chain];
  }

  /**
   * The same, with the signature checked on libuv's thread pool (both cores)
   * while the caller goes on to the next event: the registry and chains
   * advance now, in log order; the problems come with the signature's answer.
   * `message` is the event's signed message (see digestEvent); `verify`,
   * the check to use (histories pass the remembering one; an audit reads
   * each entry once, so it has nothing to remember).
   */
  checkAsync(e: LoggedEvent, message: Uint8Array, verify = verifyMessageAsync): Promise<string[]> {
    const { publicKey, chain } = this.step(e);
    if (publicKey === undefined) return Promise.resolve([noKey(e), ...chain]);
    return verify(message, e.sig, publicKey).then((ok) => (ok ? chain : [badSignature(e), ...chain]));
  }

  /** Advances the registry and the chains past `e`: the key it must verify under, and its chain's problem. */
  private step(e: LoggedEvent): { publicKey: PublicKey | undefined; chain: string[] } {
    const isGenesis = e.event.type === 'ledger.genesis';
    if (isGenesis) this.registry.apply(e.event, e.index);
    const key = this.registry.get(e.event.signer)?.keys.find((k) => k.keyId === e.event.key);
    const usable = key !== undefined && (isGenesis ? key.added === e.index : keyUsableAt(key, e.index));
    const publicKey = usable ? this.registry.publicKey(e.event.signer, e.event.key) : undefined;
    if (!isGenesis) this.registry.apply(e.event, e.index);
    const chain: string[] = [];
    const name = chainOf(e.event);
    if (name !== undefined) {
      const expected = this.heads.get(name) ?? null;
      if (e.event.prev !== expected) {
        chain.push(
          expected === null
            ? `entry ${e.index}: on ${name}, it follows an event that is not here (an entry is missing)`
            : `entry ${e.index}: on ${name}, prev does not link to the previous event (an entry is missing or altered)`,
        );
      }
      this.heads.set(name, e.hash);
    }
    return { publicKey, chain };
  }
}

const noKey = (e: LoggedEvent) =>
  `entry ${e.index}: ${e.event.signer} had no usable key ${e.event.key} at that point`;
const badSignature = (e: LoggedEvent) =>
  `entry ${e.index}: the signature of ${e.event.signer} does not verify`;

/** Every problem of a set of events (see EventChecker), in log order; empty if all holds. */
export function verifyEvents(events: readonly LoggedEvent[]): string[] {
  const checker = new EventChecker();
  return [...events].sort((a, b) => a.index - b.index).flatMap((e) => checker.check(e));
}

/**
 * verifyEvents for a history read while someone waits: the signatures not
 * verified before are checked off the event loop, both cores at once (by
 * `check`, libuv's thread pool unless given a ledger's verification
 * threads), rather than one after the other. Same problems, same order.
 */
export async function verifyEventsAsync(
  events: readonly LoggedEvent[],
  check?: (message: Uint8Array, sig: string, key: PublicKey) => Promise<boolean>,
): Promise<string[]> {
  const checker = new EventChecker();
  const verify = (message: Uint8Array, sig: string, key: PublicKey) =>
    verifyEventMessageAsync(message, sig, key, check);
  const checks = [...events]
    .sort((a, b) => a.index - b.index)
    .map((e) => (e.message === undefined ? checker.check(e) : checker.checkAsync(e, e.message, verify)));
  return (await Promise.all(checks)).flat();
}

export interface TimelineItem {
  readonly index: number;
  readonly hash: string;
  readonly time: string;
  readonly received: string;
  readonly type: string;
  readonly signer: string;
  readonly summary: string;
  /** Hashes of corrections filed against this event. */
  readonly correctedBy: readonly string[];
}

export type Verdict = 'clean' | 'flagged' | 'invalid';

export interface Assessment {
  readonly subject: Subject;
  /** The verifier's "now", an explicit input shown in the report. */
  readonly now: string;
  readonly timeline: readonly TimelineItem[];
  readonly flags: readonly Flag[];
  /** What made the history untrustworthy; non-empty means invalid. */
  readonly problems: readonly string[];
  readonly verdict: Verdict;
}

function focusOf(subject: Subject): Focus {
  if ('serial' in subject) return { serials: [subject.serial] };
  if ('shipment' in subject) return { shipments: [subject.shipment] };
  if ('licence' in subject) return { licences: [subject.licence] };
  return {};
}

/** Checks, timeline, flags and verdict of a gathered set of events. */
export function assess(
  subject: Subject,
  events: readonly LoggedEvent[],
  now: Date,
  problems: readonly string[] = verifyEvents(events),
): Assessment {
  const flags = judge(events, focusOf(subject), now);
  const verdict: Verdict = problems.length > 0 ? 'invalid' : flags.length > 0 ? 'flagged' : 'clean';
  return { subject, now: now.toISOString(), timeline: timelineOf(subject, events), flags, problems, verdict };
}

/** The events that touch the subject itself, with their corrections. */
function timelineOf(subject: Subject, events: readonly LoggedEvent[]): TimelineItem[] {
  const shipments = new Set<string>('shipment' in subject ? [subject.shipment] : []);
  const licences = new Set<string>('licence' in subject ? [subject.licence] : []);
  if ('serial' in subject) {
    for (const e of events) {
      if (e.event.type === 'shipment.dispatch' && e.event.body.serials.includes(subject.serial)) {
        shipments.add(e.event.subject.shipment);
      }
    }
  }
  for (const e of events) {
    if (e.event.type !== 'shipment.dispatch') continue;
    // A serial's or shipment's licence belongs to its story; a licence's shipments to the licence's.
    if (shipments.has(e.event.subject.shipment)) licences.add(e.event.body.licence);
    else if ('licence' in subject && e.event.body.licence === subject.licence)
      shipments.add(e.event.subject.shipment);
  }
  const touches = (e: LoggedEvent): boolean => {
    const s = e.event.subject as { shipment?: string; licence?: string; party?: string };
    if ('serial' in subject && serialsOf(e.event).includes(subject.serial)) return true;
    if ('party' in subject && (s.party === subject.party || e.event.signer === subject.party)) return true;
    return (
      (s.shipment !== undefined && shipments.has(s.shipment)) ||
      (s.licence !== undefined && licences.has(s.licence))
    );
  };
  const included = events.filter(touches);
  const hashes = new Set(included.map((e) => e.hash));
  const corrections = events.filter(
    (e) => e.event.type === 'event.correct' && hashes.has(e.event.subject.event),
  );
  return [...included, ...corrections.filter((c) => !hashes.has(c.hash))]
    .sort((a, b) => a.index - b.index)
    .map((e) => ({
      index: e.index,
      hash: e.hash,
      time: e.event.time,
      received: e.received,
      type: e.event.type,
      signer: e.event.signer,
      summary: describe(e.event),
      correctedBy: corrections
        .filter((c) => c.event.type === 'event.correct' && c.event.subject.event === e.hash)
        .map((c) => c.hash),
    }));
}

/**
 * The custody state kept beside the log, in one key space, written in the
 * same batch as the entries it describes:
 *   p\0PARTY                 → the party (JSON), as the registry reducer left it
 *   h\0CHAIN                 → hash of the chain's latest event (for `prev`)
 *   s\0SIGNER\0ID            → "INDEX HASH" of the event under that (signer, id)
 *   e\0HASH                  → "INDEX SIGNER" of the event with that hash
 *   l\0LICENCE               → the party that issued the licence
 *   i\0KEY\0INDEX(16 hex)    → for every index key of every event, the keys a history
 *                             looks up next from it, \0-separated, often none
 *                             (see vocabulary.ts indexRowsOf; rows written by
 *                             earlier versions name more or none: nextKeysAllowed)
 * Free text cannot hold \0 (the schemas refuse control characters), so keys
 * cannot run into each other.
 */
import { CustodyError } from './errors.js';
import type { CustodyEvent } from './events/schema.js';
import { chainOf, indexRowsOf } from './events/vocabulary.js';
import type { Party, PartyKey } from './registry.js';
import type { ExtraWrite, KeySpace } from './store.js';

const SEP = '\u0000';
const hex16 = (n: number) => n.toString(16).padStart(16, '0');

/**
 * The key families admission mostly reads before they exist: an event's
 * (signer, id), a new chain's head, a new licence's issuer. The ledger keeps
 * a filter of their keys (KeySpace.filterAbsentKeys).
 */
export const MOSTLY_NEW: readonly string[] = [`s${SEP}`, `h${SEP}`, `l${SEP}`];

/**
 * The writes of groups sequenced but not yet on disk, newest value per key:
 * the next group is admitted on the state they leave while they are written.
 * A group's values are forgotten once its batch is written, or is not.
 *
 * Each group keeps its own map, dropped whole, young. One map shared by
 * every group lived in V8's old generation, where each of its resizes (a
 * group's keys come and go within milliseconds) was allocated, and most of
 * its entries were promoted though a group is written in 1–2 ms: it was
 * half of what the node promoted under load, and the node's slowest writes
 * wait behind the full collections that promotion brings (BENCHMARKS.md
 * item 72).
 */
export class UnwrittenWrites {
  /** Oldest group first: a later group's value for a key is the one that will stand. */
  private groups: { readonly group: object; readonly values: ReadonlyMap<string, string | undefined> }[] = [];

  add(group: object, writes: readonly ExtraWrite[]): void {
    const values = new Map<string, string | undefined>();
    for (const w of writes) if (readByAdmission(w.key)) values.set(w.key, w.value);
    this.groups.push({ group, values });
  }

  /** After the group's batch settled, written or not: its values are the store's now, or never will be. */
  drop(group: object): void {
    this.groups = this.groups.filter((g) => g.group !== group);
  }

  has(key: string): boolean {
    return this.groups.some((g) => g.values.has(key));
  }

  get(key: string): string | undefined {
    let value: string | undefined;
    for (const { values } of this.groups) if (values.has(key)) value = values.get(key);
    return value;
  }
}

/** Index rows, most of a group's writes, are read by histories only, never by admission. */
const INDEX_ROW = `i${SEP}`;
const readByAdmission = (key: string) => !key.startsWith(INDEX_ROW);

export interface EventRef {
  readonly index: number;
  readonly hash: string;
}

/**
 * Reads custody state as it will be once the pending group is written: the
 * group's own changes first, then the store. The sequencer sees the events it
 * accepted earlier in the same group (a party registered, then signing).
 */
export class CustodyState {
  private parties = new Map<string, Party>();
  private heads = new Map<string, string>();
  private ids = new Map<string, EventRef>();
  private hashes = new Map<string, { index: number; signer: string }>();
  private issuers = new Map<string, string>();
  private writes: ExtraWrite[] = [];
  /** Values read ahead for the group (see prefetch); undefined where the key is absent. */
  private fetched = new Map<string, string | undefined>();

  constructor(
    private readonly space: KeySpace,
    /** Parties as committed, shared across groups; the ledger updates it after each commit. */
    private readonly committed: Map<string, Party> = new Map(),
    /**
     * Whether reads from the store may fill that cache. Only callers
     * sequenced with the commits may: a read racing a commit could otherwise
     * put back a party the commit had just changed (a revoked key, valid again).
     */
    private readonly fillCache = false,
    /** Writes of earlier groups still being written: they come before `committed` and the store. */
    private readonly unwritten?: UnwrittenWrites,
  ) {}

  /**
   * Reads the keys the group's events will ask for in one trip to the store
   * (see keysReadBy), instead of one each while the group waits. A key not
   * fetched is simply read when asked for.
   */
  async prefetch(events: readonly CustodyEvent[]): Promise<void> {
    // Not the parties held in memory: a party's record lies deep in LevelDB's
    // levels, and a read that finds it there costs a compaction (see MOSTLY_NEW).
    const wanted = [...new Set(events.flatMap(keysReadBy))].filter(
      (k) =>
        !this.fetched.has(k) &&
        this.unwritten?.has(k) !== true &&
        !(k.startsWith(PARTY) && this.committed.has(k.slice(PARTY.length))),
    );
    if (wanted.length === 0) return;
    const values = await this.space.getMany(wanted);
    for (const [i, key] of wanted.entries()) this.fetched.set(key, values[i]);
  }

  private read(key: string): Promise<string | undefined> | string | undefined {
    if (this.unwritten?.has(key)) return this.unwritten.get(key);
    return this.fetched.has(key) ? this.fetched.get(key) : this.space.get(key);
  }

  async party(id: string): Promise<Party | undefined> {
    const key = partyKey(id);
    const known =
      this.parties.get(id) ??
      (this.unwritten?.has(key) ? storedParty(id, this.unwritten.get(key)) : this.committed.get(id));
    if (known !== undefined || this.unwritten?.has(key)) return known;
    const party = storedParty(id, await this.read(key));
    if (party !== undefined && this.fillCache) this.committed.set(id, party);
    return party;
  }

  /** The parties this group changed, to be cached as committed once its batch is written. */
  changedParties(): Party[] {
    return [...this.parties.values()];
  }

  async head(chain: string): Promise<string | undefined> {
    return this.heads.get(chain) ?? (await this.read(headKey(chain)));
  }

  async bySignerId(signer: string, id: string): Promise<EventRef | undefined> {
    const key = `${signer}${SEP}${id}`;
    const pending = this.ids.get(key);
    if (pending !== undefined) return pending;
    const stored = await this.read(`s${SEP}${key}`);
    if (stored === undefined) return undefined;
    const [index, hash] = stored.split(' ');
    return { index: Number(index), hash: hash as string };
  }

  async byHash(hash: string): Promise<{ index: number; signer: string } | undefined> {
    const pending = this.hashes.get(hash);
    if (pending !== undefined) return pending;
    const stored = await this.read(`e${SEP}${hash}`);
    if (stored === undefined) return undefined;
    const [index, signer] = stored.split(' ');
    return { index: Number(index), signer: signer as string };
  }

  async issuer(licence: string): Promise<string | undefined> {
    return this.issuers.get(licence) ?? (await this.read(`l${SEP}${licence}`));
  }

  /** Records an accepted event at `index`; the writes go out with the next append. */
  record(
    event: CustodyEvent,
    hash: string,
    index: number,
    chain: string | undefined,
    party: Party | undefined,
  ): void {
    this.ids.set(`${event.signer}${SEP}${event.id}`, { index, hash });
    this.hashes.set(hash, { index, signer: event.signer });
    // Chain heads and parties are written by takeWrites, once each, as the group leaves them.
    if (chain !== undefined) this.heads.set(chain, hash);
    if (party !== undefined) this.parties.set(party.id, party);
    if (event.type === 'licence.issue') this.issuers.set(event.subject.licence, event.signer);
    eventRows(event, hash, index, (key, value) => this.writes.push({ space: this.space, key, value }));
  }

  /**
   * The writes of the group so far, to go into the append's batch. A chain
   * that took several events in the group (a transfer's, sent together) has
   * its head written once, and a party its record: the earlier values would
   * only be overwritten in the same batch.
   */
  takeWrites(): ExtraWrite[] {
    const latest: ExtraWrite[] = [];
    for (const [chain, hash] of this.heads)
      latest.push({ space: this.space, key: headKey(chain), value: hash });
    for (const party of this.parties.values()) {
      latest.push({ space: this.space, key: partyKey(party.id), value: JSON.stringify(party) });
    }
    return [...this.writes, ...latest];
  }
}

/**
 * The rows an event accepted at `index` writes as it is recorded, each
 * passed to `put`: its (signer, id), its hash, a licence's issuer and its
 * index rows. Chain heads and parties are written once per group (takeWrites).
 */
export function eventRows(
  event: CustodyEvent,
  hash: string,
  index: number,
  put: (key: string, value: string) => void,
): void {
  put(`s${SEP}${event.signer}${SEP}${event.id}`, `${index} ${hash}`);
  put(`e${SEP}${hash}`, `${index} ${event.signer}`);
  if (event.type === 'licence.issue') put(`l${SEP}${event.subject.licence}`, event.signer);
  const at = hex16(index);
  for (const [key, next] of indexRowsOf(event)) put(`${INDEX_ROW}${key}${SEP}${at}`, next.join(SEP));
}

/** The row of a chain's head: the hash of its latest event. */
export const headKey = (chain: string) => `h${SEP}${chain}`;

const PARTY = `p${SEP}`;
export const partyKey = (id: string) => `${PARTY}${id}`;

/** A party's stored record, checked; undefined if none is stored. */
function storedParty(id: string, stored: string | undefined): Party | undefined {
  if (stored === undefined) return undefined;
  const party = readParty(stored);
  if (party === undefined) {
    throw new CustodyError(
      'CUSTODY_CORRUPT_STATE',
      `the stored record of party ${id} is damaged; run an audit`,
      500,
    );
  }
  return party;
}

/**
 * A party as committed: from the cache of committed parties, else from the
 * store, without filling the cache (see CustodyState's fillCache). For the
 * reads outside a group, e.g. every pre-check, which need nothing else of a
 * CustodyState.
 */
export async function committedParty(
  space: KeySpace,
  committed: ReadonlyMap<string, Party>,
  id: string,
): Promise<Party | undefined> {
  return committed.get(id) ?? storedParty(id, await space.get(partyKey(id)));
}

/** The keys admitting `event` will most likely read (see sequencer.ts). */
function keysReadBy(event: CustodyEvent): string[] {
  const keys = [partyKey(event.signer), `s${SEP}${event.signer}${SEP}${event.id}`];
  const chain = chainOf(event);
  if (chain !== undefined) keys.push(headKey(chain));
  const subject = event.subject as Record<string, unknown>;
  if (typeof subject.shipment === 'string') keys.push(headKey(`shipment:${subject.shipment}`));
  if (typeof subject.licence === 'string') keys.push(`l${SEP}${subject.licence}`);
  if (typeof subject.party === 'string') keys.push(partyKey(subject.party));
  if (typeof subject.event === 'string') keys.push(`e${SEP}${subject.event}`);
  return keys;
}

/**
 * Up to `limit` committed parties, in id order. A damaged record is left
 * out: it is refused when it is asked for, and the audit names it.
 */
export async function storedParties(space: KeySpace, limit: number): Promise<Party[]> {
  const rows = await space.scan(`p${SEP}`, limit);
  return rows.map(([, value]) => readParty(value)).filter((p): p is Party => p !== undefined);
}

/**
 * A stored party record, or undefined if it lacks what admission and
 * histories read of it (only tampering makes one so).
 */
function readParty(text: string): Party | undefined {
  let value: Partial<Party> | null;
  try {
    value = JSON.parse(text) as Partial<Party> | null;
  } catch {
    return undefined;
  }
  const keyOk = (k: unknown) =>
    typeof k === 'object' &&
    k !== null &&
    typeof (k as PartyKey).keyId === 'string' &&
    typeof (k as PartyKey).vkey === 'string';
  return typeof value?.id === 'string' &&
    Array.isArray(value.roles) &&
    Array.isArray(value.keys) &&
    value.keys.every(keyOk)
    ? (value as Party)
    : undefined;
}

/** An index row: a log index found under a key, and the keys to look up next from it. */
export interface IndexRow {
  readonly index: number;
  readonly next: readonly string[];
}

const NONE: readonly string[] = Object.freeze([]);

/** The rows under an index key, by ascending log index. */
export async function indexed(space: KeySpace, key: string): Promise<IndexRow[]> {
  const rows = await space.scan(`i${SEP}${key}${SEP}`);
  return rows.map(([k, next]) => indexRow(k, next));
}

/** An index row from its stored key (`i\0KEY\0INDEX`) and value. */
const indexRow = (key: string, next: string): IndexRow => ({
  index: Number.parseInt(key.slice(key.lastIndexOf(SEP) + 1), 16),
  next: next === '' ? NONE : next.split(SEP),
});

/** The rows of every index key that starts with `family`, up to `limit`, with the key each is under. */
export async function indexedFamily(
  space: KeySpace,
  family: string,
  limit: number,
): Promise<[string, IndexRow][]> {
  const rows = await space.scan(`i${SEP}${family}`, limit);
  return rows.map(([k, next]) => [k.slice(2, k.lastIndexOf(SEP)), indexRow(k, next)]);
}

/** The rows a group's writes add under index keys that start with `family` (see `record`). */
export function indexRowsIn(writes: readonly ExtraWrite[], family: string): [string, IndexRow][] {
  const prefix = `i${SEP}${family}`;
  return writes
    .filter((w) => w.key.startsWith(prefix))
    .map((w) => [w.key.slice(2, w.key.lastIndexOf(SEP)), indexRow(w.key, w.value ?? '')]);
}

/** The index keys a group's writes add rows under (see `record`). */
export function indexKeysIn(writes: readonly ExtraWrite[]): Set<string> {
  const keys = new Set<string>();
  for (const w of writes) if (w.key.startsWith(INDEX_ROW)) keys.add(w.key.slice(2, w.key.lastIndexOf(SEP)));
  return keys;
}

/**
 * Audits the custody indexes (indexes.ts) against the log they were written
 * from. Replaying each entry through CustodyState.record gives exactly the
 * index entries the sequencer wrote for it; the audit finds one missing, one
 * holding another value, and one that no entry wrote. An investigator's
 * history comes from these indexes, so a changed index entry could hide an
 * event from it even though the log itself is intact.
 *
 * Memory stays bounded on a large log: entries written once per event
 * (signer/id, hash, index keys) are checked in batches as the log is read and
 * only counted; entries later events overwrite (chain heads, parties, licence
 * issuers) are kept until the end, one per chain, party or licence.
 */
import type { AuditProblem } from './audit.js';
import type { CustodyEvent } from './events/schema.js';
import { chainOf, nextKeysAllowed } from './events/vocabulary.js';
import { eventRows, headKey, partyKey } from './indexes.js';
import { partyOf, Registry } from './registry.js';
import type { KeySpace } from './store.js';

/** Key prefixes whose entries later events overwrite (see indexes.ts). */
const OVERWRITTEN = new Set(['h', 'p', 'l']);
const BATCH = 512;

interface Expected {
  readonly key: string;
  readonly value: string;
  /** The log entry that wrote it. */
  readonly index: number;
  /** For an index row: the keys it may name to look up next (see `holds`). */
  readonly next?: ReadonlySet<string>;
}

/** An index key as a person reads it: its parts separated by " / ". */
const readable = (key: string) => key.replaceAll('\u0000', ' / ');
const show = (key: string) => `"${readable(key)}"`;

export class IndexAudit {
  private readonly registry = new Registry();
  private readonly latest = new Map<string, Expected>();
  private pending: Expected[] = [];
  private once = 0;

  constructor(
    private readonly space: KeySpace,
    /** The event at a log index, with its hash; only read when an index entry no event wrote must be found. */
    private readonly eventAt: (index: number) => Promise<{ event: CustodyEvent; hash: string } | undefined>,
  ) {}

  /** Takes the next entry of the log, in order; returns a problem found so far, if any. */
  async add(event: CustodyEvent, hash: string, index: number): Promise<AuditProblem | undefined> {
    for (const expected of this.writesOf(event, hash, index)) {
      if (OVERWRITTEN.has(expected.key[0] as string)) this.latest.set(expected.key, expected);
      else this.pending.push(expected);
    }
    return this.pending.length >= BATCH ? this.flush() : undefined;
  }

  /** After the last entry: the rest of the batch, then every stored index entry against what the log wrote. */
  async finish(size: number): Promise<AuditProblem | undefined> {
    const problem = await this.flush();
    if (problem !== undefined) return problem;
    let stored = 0;
    for await (const rows of this.space.iterate('')) {
      for (const [key, value] of rows) {
        if (!OVERWRITTEN.has(key[0] as string)) {
          stored++;
          continue;
        }
        const expected = this.latest.get(key);
        if (expected === undefined) return orphan(key, size);
        if (expected.value !== value) return wrong(expected, value);
        this.latest.delete(key);
      }
    }
    for (const expected of this.latest.values()) return missing(expected);
    // Every entry the log wrote once is there (flush checked each); more means one was added.
    return stored > this.once ? this.findAdded(size) : undefined;
  }

  /** What the sequencer wrote for an event, as CustodyState.record and takeWrites write it for a group of one. */
  private writesOf(event: CustodyEvent, hash: string, index: number): Expected[] {
    this.registry.apply(event, index);
    // One value per key (an event naming a serial twice indexes it once).
    const writes = new Map<string, string>();
    eventRows(event, hash, index, (key, value) => writes.set(key, value));
    const chain = chainOf(event);
    if (chain !== undefined) writes.set(headKey(chain), hash);
    const id = partyOf(event);
    const party = id === undefined ? undefined : this.registry.get(id);
    if (party !== undefined) writes.set(partyKey(party.id), JSON.stringify(party));
    const next = nextKeysAllowed(event);
    const expected: Expected[] = [];
    for (const [key, value] of writes) {
      expected.push(key.startsWith('i') ? { key, value, index, next } : { key, value, index });
    }
    return expected;
  }

  private async flush(): Promise<AuditProblem | undefined> {
    const batch = this.pending;
    this.pending = [];
    this.once += batch.length;
    const values = await this.space.getMany(batch.map((e) => e.key));
    for (const [i, expected] of batch.entries()) {
      const value = values[i];
      if (value === undefined) return missing(expected);
      if (!holds(expected, value)) return wrong(expected, value);
    }
    return undefined;
  }

  /** Finds the write-once index entry that no entry of the log wrote. */
  private async findAdded(size: number): Promise<AuditProblem> {
    for await (const rows of this.space.iterate('')) {
      for (const [key, value] of rows) {
        if (OVERWRITTEN.has(key[0] as string)) continue;
        const claimed = claimedIndex(key, value);
        const source = claimed === undefined || claimed >= size ? undefined : await this.eventAt(claimed);
        const written =
          source === undefined ? [] : this.writesOf(source.event, source.hash, claimed as number);
        if (!written.some((w) => w.key === key && holds(w, value))) return orphan(key, claimed ?? size);
      }
    }
    throw new Error('more index entries are stored than the log wrote, yet each matches an entry');
  }
}

/**
 * Whether a stored value is the one expected. The keys an index row names
 * to look up next only make a history ask sooner, and rows written by
 * earlier versions name fewer of them ("" before rows carried any) or more
 * (vocabulary.ts `nextKeysAllowed`): a row holds if every key it names is
 * one its event may name. One naming another key is named.
 */
const holds = (expected: Expected, stored: string) =>
  stored === expected.value ||
  (expected.next !== undefined &&
    (stored === '' || stored.split('\u0000').every((key) => expected.next?.has(key) === true)));

/** The log index an index entry says it belongs to: in the key for index keys, in the value otherwise. */
function claimedIndex(key: string, value: string): number | undefined {
  const text = key.startsWith('i') ? key.slice(key.lastIndexOf('\u0000') + 1) : value.split(' ')[0];
  const n = key.startsWith('i') ? Number.parseInt(text ?? '', 16) : Number(text);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function missing(e: Expected): AuditProblem {
  return {
    kind: 'index-entry',
    index: e.index,
    indexEntry: readable(e.key),
    message: `index entry ${show(e.key)}, written by entry ${e.index}, is missing (the entry would not be found under it)`,
  };
}

function wrong(e: Expected, stored: string): AuditProblem {
  return {
    kind: 'index-entry',
    index: e.index,
    indexEntry: readable(e.key),
    message: `index entry ${show(e.key)} holds ${JSON.stringify(stored.slice(0, 80))}, but entry ${e.index} wrote ${JSON.stringify(e.value.slice(0, 80))}`,
  };
}

function orphan(key: string, index: number): AuditProblem {
  return {
    kind: 'index-entry',
    index,
    indexEntry: readable(key),
    message: `index entry ${show(key)} was written by no entry of the log (added behind the ledger's back)`,
  };
}

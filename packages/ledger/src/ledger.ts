/**
 * The Ledger: custody events on top of the Log, as the node and the CLI use
 * it. A group of submissions is admitted one by one (each refused with its
 * own error, or accepted), written as one durable batch with its indexes,
 * covered by one signed checkpoint, and answered with receipts that prove
 * inclusion offline.
 */

import { type AuditOptions, type AuditProblem, type AuditReport, firstFound } from './audit.js';
import { type Bundle, makeBundle } from './bundle.js';
import { toBase64, toHex } from './bytes.js';
import type { JsonObject } from './canonical.js';
import { CustodyError } from './errors.js';
import { parseEvent } from './events/parse.js';
import type { CustodyEvent, LoggedEvent, Policy } from './events/schema.js';
import {
  digestEventJson,
  verifyEventMessage,
  verifyEventMessageAsync,
  verifyMessageAsync,
  verifyMessageOn,
} from './events/sign.js';
import { CORRECTIONS } from './events/vocabulary.js';
import {
  type Assessment,
  assess,
  EventChecker,
  gather,
  type Lookup,
  type Subject,
  subjectKey,
  verifyEventsAsync,
} from './history.js';
import { IndexAudit } from './index-audit.js';
import {
  CustodyState,
  committedParty,
  type IndexRow,
  indexed,
  indexedFamily,
  indexKeysIn,
  indexRowsIn,
  MOSTLY_NEW,
  storedParties,
  UnwrittenWrites,
} from './indexes.js';
import { decodeLeaf, type LeafEntry } from './leaf.js';
import { type AppendResult, Log, type StoredEntry } from './log.js';
import type { Hash } from './merkle.js';
import { EntryCache, IndexFamilyCache, IndexScanCache } from './read-cache.js';
import type { Receipt } from './receipt.js';
import { type Party, partyPublicKey } from './registry.js';
import { type Admitted, admit, badSignature, Submission } from './sequencer.js';
import type { PublicKey } from './signature.js';
import type { ExtraWrite, KeySpace } from './store.js';
import type { TileAddress } from './tiles.js';
import { VerifyPool } from './verify-pool.js';

export type Outcome =
  | { readonly ok: true; readonly receipt: Receipt; readonly duplicate: boolean }
  | { readonly ok: false; readonly error: CustodyError };

/** An entry with its event parsed. */
export interface EventEntry extends LoggedEvent {
  readonly leaf: Uint8Array;
  readonly leafHash: Hash;
}

export interface History extends Assessment {
  /** The log size the history was read at. */
  readonly size: number;
  readonly events: readonly EventEntry[];
}

export interface LedgerOptions {
  /** The log's secret key; without it the ledger is read-only. */
  readonly secretKey?: Uint8Array;
  /** The node's clock: receive times and the future-time check. */
  readonly clock?: () => Date;
  /**
   * How many parties opening reads into memory (default 10,000, a few MB of
   * JSON); the others are read when first needed.
   */
  readonly partiesAtOpen?: number;
}

/**
 * Signatures a history checks on the event loop: those of the first entries
 * it reads from the store. A check sent to the verification threads comes
 * back after they, LevelDB and V8 have had a core: under the load test (about
 * 7,000 events/s on two cores) an item's one new signature came back up to
 * 9–12 ms after its history was gathered (p99), half the history's time; on
 * the loop it takes about 70 µs. Four at most are about 0.3 ms of the loop;
 * a history with more to check checks the rest on the threads while it
 * gathers (BENCHMARKS.md item 74).
 */
const CHECKS_ON_LOOP = 4;

export class Ledger {
  private tail: Promise<unknown> = Promise.resolve();
  private policy: Policy | undefined;
  /** Pre-checks' and replication's signature checks, on threads of their own (verifyOnThreads). */
  private verifier: VerifyPool | undefined;
  /** Set by close: no verification threads are started after it. */
  private closing = false;
  /** Parties as committed, so admission reads LevelDB once per party, not once per event. */
  private readonly parties = new Map<string, Party>();
  /** The custody writes of groups sequenced and still being written, which the next group is admitted on. */
  private readonly unwritten = new UnwrittenWrites();
  /** What histories read again and again (see read-cache.ts). */
  private readonly scans = new IndexScanCache<IndexRow>();
  /** Every correction row (up to 100,000: about 12 MB), so that a history asks the store for none. */
  private readonly corrections: IndexFamilyCache<IndexRow>;
  private readonly entryCache = new EntryCache<EventEntry>();
  /**
   * Resolves true once admission's reads of keys not stored yet are answered
   * from memory (see MOSTLY_NEW), after a scan started at open; false if the
   * scan did not finish (the ledger closed first, or a storage error).
   */
  readonly keysFiltered: Promise<boolean>;

  private constructor(
    private readonly log: Log,
    private readonly space: KeySpace,
    private readonly clock: () => Date,
  ) {
    // About 1.5 keys an entry in the bench's mix of events; the filter grows past it.
    this.keysFiltered = space.filterAbsentKeys(MOSTLY_NEW, 1.5 * log.size);
    this.corrections = new IndexFamilyCache(
      CORRECTIONS,
      100_000,
      (limit) => indexedFamily(space, CORRECTIONS, limit),
      () => log.size,
    );
  }

  /** A new, empty ledger; its first submission must be the genesis event. */
  static async create(
    dir: string,
    options: LedgerOptions & { origin: string; secretKey: Uint8Array },
  ): Promise<Ledger> {
    const log = await Log.create(dir, { origin: options.origin, secretKey: options.secretKey });
    return new Ledger(log, log.space('custody'), options.clock ?? (() => new Date()));
  }

  /** A new, empty mirror of the log with this key (see replicate). */
  static async createMirror(dir: string, options: { logVkey: string; clock?: () => Date }): Promise<Ledger> {
    const log = await Log.createMirror(dir, { logVkey: options.logVkey });
    return new Ledger(log, log.space('custody'), options.clock ?? (() => new Date()));
  }

  /**
   * Opens a ledger: reads the tree state, the genesis entry and the parties
   * (see `partiesAtOpen`), never the entries: opening costs the same at any
   * size.
   */
  static async open(dir: string, options: LedgerOptions = {}): Promise<Ledger> {
    const partiesAtOpen = options.partiesAtOpen ?? 10_000;
    if (!Number.isSafeInteger(partiesAtOpen) || partiesAtOpen < 0) {
      throw new CustodyError(
        'CUSTODY_BAD_INPUT',
        `partiesAtOpen must be a whole number of parties, 0 or more, not ${String(options.partiesAtOpen)}`,
      );
    }
    const log = await Log.open(dir, options.secretKey === undefined ? {} : { secretKey: options.secretKey });
    const ledger = new Ledger(log, log.space('custody'), options.clock ?? (() => new Date()));
    if (log.size > 0) {
      await ledger.readPolicy();
      // A history starts each signature check as its entry is read, under the
      // key its signer has now (see startVerifying); with the parties in
      // memory from the start, the first histories after a restart do too,
      // instead of checking every signature once the last entry is in.
      // Nothing is committed yet, so this cannot race a commit.
      for (const party of await storedParties(ledger.space, partiesAtOpen))
        ledger.parties.set(party.id, party);
    }
    return ledger;
  }

  /** The genesis policy, from the log's first entry. */
  private async readPolicy(): Promise<void> {
    const genesis = toEventEntry(await this.log.heldEntry(0));
    if (genesis.event.type === 'ledger.genesis') this.policy = genesis.event.body.policy;
  }

  get origin(): string {
    return this.log.origin;
  }

  get logVkey(): string {
    return this.log.logVkey;
  }

  /** The entries held; a mirror catching up in parts serves fewer (see `servedSize`). */
  get size(): number {
    return this.log.size;
  }

  /** The size of the tree this ledger serves: every read is of that tree (see Log.servedSize). */
  get servedSize(): number {
    return this.log.servedSize;
  }

  /**
   * The signed checkpoint of the tree this ledger serves; while a mirror
   * catches up in parts, the last whole tree it held, or '' if none (see replicate).
   */
  get checkpoint(): string {
    return this.log.checkpoint;
  }

  /** For a mirror: the latest signed checkpoint it accepted, held whole or still being caught up to. */
  get accepted(): string {
    return this.log.accepted;
  }

  /**
   * Admits and appends one group. Each submission gets its own outcome; the
   * accepted ones are written together, durably, before any receipt exists.
   * Groups are sequenced one at a time, in call order.
   */
  submit(inputs: readonly (unknown | Submission)[]): Promise<Outcome[]> {
    return this.sequence(inputs).then((group) => group.outcomes);
  }

  /**
   * `submit` in two steps: resolves once the group is sequenced (admitted
   * against every group sequenced before it, its entries placed after
   * theirs), with its outcomes to come once its batch is written, or is not.
   * A caller may sequence the next group while one is written: the fsync of
   * one group then overlaps the admission of the next. Should a group's write
   * fail, the groups sequenced after it fail too, with nothing written.
   */
  sequence(inputs: readonly (unknown | Submission)[]): Promise<{ readonly outcomes: Promise<Outcome[]> }> {
    const run = this.tail.then(() => this.sequenceNow(inputs));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * For a mirror: takes the source log's next entries, exactly as it stored
   * them, with the signed checkpoint they complete. Every event is admitted
   * again by the same rules (as of its own receive time), so the mirror's
   * indexes and histories are the source's; the leaves must continue the
   * chain and make exactly the signed tree, or, with `prefixProof` (a
   * consistency proof from the size they make to the checkpoint's), the
   * first part of it: a long catch-up goes in parts of bounded size, and
   * until the last the mirror goes on serving the last whole tree it held
   * (none, if it never held one). Anything else writes nothing and throws
   * CUSTODY_BAD_PROOF naming the entry.
   */
  replicate(
    leaves: readonly Uint8Array[],
    checkpoint: string,
    prefixProof?: readonly Hash[],
  ): Promise<number> {
    const run = this.tail.then(() => this.replicateNow(leaves, checkpoint, prefixProof));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async replicateNow(
    leaves: readonly Uint8Array[],
    checkpoint: string,
    prefixProof: readonly Hash[] | undefined,
  ): Promise<number> {
    await this.log.settle();
    const state = new CustodyState(this.space, this.parties, true);
    const first = this.log.size;
    // Read first, so that the group's index reads go out together, as a node's do.
    const read = leaves.map((leaf) => {
      try {
        const { event, sig, received } = decodeLeaf(leaf);
        return { submission: Submission.read({ event, sig }), received };
      } catch (e) {
        if (!(e instanceof CustodyError)) throw e;
        return e;
      }
    });
    await state.prefetch(read.flatMap((r) => (r instanceof CustodyError ? [] : [r.submission.event])));
    // The group is taken whole or not at all, so each signature is checked on
    // the thread pool under the key admission finds, while the entries after
    // it are admitted; the first refusal in log order is the one reported.
    const signatures: { index: number; event: CustodyEvent; valid: Promise<boolean> }[] = [];
    const refusal = (index: number, e: CustodyError) =>
      new CustodyError(
        'CUSTODY_BAD_PROOF',
        `the source log's entry ${index} would be refused here: ${e.message}`,
        502,
      );
    const firstBadSignature = (before: number) =>
      firstFound(
        signatures
          .filter(({ index }) => index < before)
          .map(({ index, event, valid }) =>
            valid.then((ok) => (ok ? undefined : refusal(index, badSignature(event)))),
          ),
      );
    let policy = this.policy;
    for (const [i, leaf] of read.entries()) {
      const index = first + i;
      try {
        if (leaf instanceof CustodyError) throw leaf;
        const { submission } = leaf;
        const admission = await admit(submission, state, {
          index,
          origin: this.log.origin,
          policy,
          now: new Date(leaf.received),
          verify: (message, sig, key) => {
            signatures.push({
              index,
              event: submission.event,
              valid: this.verifyOnThreads(message, sig, key),
            });
            return true;
          },
        });
        if (admission.kind !== 'new')
          throw new CustodyError('CUSTODY_REPLAY', `it repeats entry ${admission.ref.index}`, 409);
        const event = admission.admitted.event;
        if (event.type === 'ledger.genesis') policy = event.body.policy;
      } catch (e) {
        if (!(e instanceof CustodyError)) throw e;
        throw (await firstBadSignature(index)) ?? refusal(index, e);
      }
    }
    const forged = await firstBadSignature(Number.POSITIVE_INFINITY);
    if (forged !== undefined) throw forged;
    const writes = state.takeWrites();
    let result: AppendResult;
    try {
      result = await this.log.appendVerified(leaves, checkpoint, () => writes, prefixProof);
    } catch (e) {
      this.parties.clear();
      throw e;
    }
    for (const p of state.changedParties()) this.parties.set(p.id, p);
    this.readCachesFollow(first, result.size, writes);
    this.policy = policy;
    return result.size;
  }

  /** Submits one event and returns its receipt, or throws its refusal. */
  async submitOne(input: unknown): Promise<Receipt> {
    const [outcome] = await this.submit([input]);
    if (outcome === undefined || !outcome.ok) throw outcome?.error ?? new Error('no outcome');
    return outcome.receipt;
  }

  /**
   * What can be decided about a submission before it is sequenced, in
   * parallel and off the event loop: its form, and its signature under the
   * key its signer has now. Returns the refusal, or the submission read and
   * digested to hand to `submit`, marked with the vkey it verified with
   * (unmarked when the key is not known yet, e.g. registered in the same
   * group: the sequencer then checks it).
   */
  async precheck(input: unknown): Promise<{ error: CustodyError } | { submission: Submission }> {
    try {
      const submission = Submission.read(input);
      const { event } = submission;
      // Reads the cache, never fills it (see CustodyState): a stale party here is
      // harmless, as the sequencer trusts a pre-check only for the key it finds itself.
      const party = await committedParty(this.space, this.parties, event.signer);
      const key = party?.keys.find((k) => k.keyId === event.key);
      if (party === undefined || key === undefined) return { submission };
      const publicKey = partyPublicKey(party.id, key.vkey).key;
      if (await this.verifyOnThreads(submission.digest.message, submission.sig, publicKey)) {
        return { submission: submission.verified(key.vkey) };
      }
      return { error: badSignature(event) };
    } catch (e) {
      if (e instanceof CustodyError) return { error: e };
      throw e;
    }
  }

  /**
   * A pre-check's or a replicated entry's signature check on the ledger's
   * verification threads (verify-pool.ts: libsodium's equation where it
   * loads, about 40 % less CPU than OpenSSL's on libuv's pool, where
   * LevelDB's reads would also wait behind it). Should a thread die, this
   * check and the next ones go to libuv's pool until a new pool is started.
   */
  private readonly checkOnThreads = (message: Uint8Array, sig: string, key: PublicKey) =>
    this.verifyOnThreads(message, sig, key);

  private async verifyOnThreads(message: Uint8Array, sig: string, key: PublicKey): Promise<boolean> {
    // A request still in flight as the ledger closes must not start threads nobody will stop.
    if (this.closing) return verifyMessageAsync(message, sig, key);
    if (this.verifier === undefined) this.verifier = new VerifyPool();
    const pool = this.verifier;
    try {
      return await verifyMessageOn(pool)(message, sig, key);
    } catch {
      if (this.verifier === pool) this.verifier = undefined;
      void pool.close();
      return verifyMessageAsync(message, sig, key);
    }
  }

  private async sequenceNow(inputs: readonly unknown[]): Promise<{ outcomes: Promise<Outcome[]> }> {
    // Indices are assigned from the size the staged groups leave: after a failed write, the size on disk.
    await this.log.settle();
    // A genesis whose write reported a failure may have landed all the same.
    if (this.policy === undefined && this.log.nextIndex > 0) await this.readPolicy();
    const state = new CustodyState(this.space, this.parties, true, this.unwritten);
    const now = this.clock();
    const firstIndex = this.log.nextIndex;
    const accepted: Admitted[] = [];
    const results: Admission[] = [];
    // Read and parse every submission first, so the group's index reads go out together.
    const read = inputs.map((input) => {
      try {
        return Submission.read(input);
      } catch (e) {
        if (!(e instanceof CustodyError)) throw e;
        return e;
      }
    });
    await state.prefetch(read.filter((r): r is Submission => r instanceof Submission).map((r) => r.event));
    for (const input of read) {
      try {
        if (input instanceof CustodyError) throw input;
        const admission = await admit(input, state, {
          index: firstIndex + accepted.length,
          origin: this.log.origin,
          policy:
            this.policy ??
            (accepted[0]?.event.type === 'ledger.genesis' ? accepted[0].event.body.policy : undefined),
          now,
        });
        if (admission.kind === 'new') {
          results.push({
            index: firstIndex + accepted.length,
            hash: admission.admitted.hash,
            duplicate: false,
          });
          accepted.push(admission.admitted);
        } else {
          results.push({ ...admission.ref, duplicate: true });
        }
      } catch (e) {
        if (!(e instanceof CustodyError)) throw e;
        results.push(e);
      }
    }
    if (accepted.length === 0) {
      // A duplicate may name an entry of a group still being written: its receipt waits for that write.
      return { outcomes: this.log.allWritten().then(() => this.answer(results, undefined)) };
    }

    const received = now.toISOString();
    const writes = state.takeWrites();
    // Taken now, so that the group's state (its maps of ids, hashes and reads) is not held while the batch is written.
    const changedParties = state.changedParties();
    const entries = accepted.map((a) => ({
      received,
      event: a.event as unknown as JsonObject,
      sig: a.sig,
      eventJson: a.json,
    }));
    // Until the write settles, the next group is admitted on these writes.
    const group = {};
    this.unwritten.add(group, writes);
    let written: Promise<AppendResult>;
    try {
      ({ written } = await this.log.stage(entries, () => writes));
    } catch (e) {
      // Nothing was staged: the group fails whole, and the next is sequenced as if it never came.
      this.unwritten.drop(group);
      const error = storageError(e);
      return { outcomes: this.log.allWritten().then(() => this.answer(results, { firstIndex, error })) };
    }
    const genesis = accepted[0]?.event;
    if (genesis?.type === 'ledger.genesis') this.policy = genesis.body.policy;
    const outcomes = written.then(
      (result) => {
        for (const p of changedParties) this.parties.set(p.id, p);
        this.readCachesFollow(firstIndex, result.size, writes);
        this.unwritten.drop(group);
        return this.answer(results, { firstIndex, result });
      },
      (e: unknown) => {
        // The batch may have landed even so: forget what is cached, read it again.
        this.parties.clear();
        if (firstIndex === 0) this.policy = undefined;
        this.unwritten.drop(group);
        return this.answer(results, { firstIndex, error: storageError(e) });
      },
    );
    return { outcomes };
  }

  /**
   * The outcomes of a sequenced group, once its write settled: a receipt
   * for each entry admitted or found again, except that nothing of a failed
   * write, nor any entry not written yet, gets one.
   */
  private async answer(
    results: readonly Admission[],
    write:
      | undefined
      | { readonly firstIndex: number; readonly result: AppendResult }
      | { readonly firstIndex: number; readonly error: CustodyError },
  ): Promise<Outcome[]> {
    const appended = write !== undefined && 'result' in write ? write.result : undefined;
    const checkpoint = appended?.checkpoint ?? this.log.checkpoint;
    const size = appended?.size ?? this.log.size;
    const failed = write !== undefined && 'error' in write ? write.error : undefined;
    const unwritten = (index: number) =>
      index >= size || (failed !== undefined && index >= (write?.firstIndex ?? size));
    const receipted = results.filter((r): r is Placed => !(r instanceof CustodyError) && !unwritten(r.index));
    // One read for every proof of the group; leaf hashes of new entries come from the append.
    const proofs = await this.log.inclusionProofs(
      receipted.map((r) => r.index),
      size,
    );
    const leafHashes = new Map<number, Hash>();
    for (const r of receipted) {
      const own = appended === undefined ? undefined : appended.leafHashes[r.index - appended.firstIndex];
      leafHashes.set(r.index, own ?? (await this.log.entry(r.index)).leafHash);
    }
    // A group's proofs share their upper levels (the same hash objects): each is encoded once.
    const encoded = new Map<Hash, string>();
    const base64Of = (hash: Hash) => {
      let text = encoded.get(hash);
      if (text === undefined) {
        text = toBase64(hash);
        encoded.set(hash, text);
      }
      return text;
    };
    return results.map((r): Outcome => {
      if (r instanceof CustodyError) return { ok: false, error: r };
      if (unwritten(r.index)) return { ok: false, error: failed ?? notWritten() };
      return {
        ok: true,
        duplicate: r.duplicate,
        receipt: {
          index: r.index,
          leafHash: toHex(leafHashes.get(r.index) as Hash),
          eventHash: r.hash,
          checkpoint,
          inclusionProof: (proofs.get(r.index) ?? []).map(base64Of),
        },
      };
    });
  }

  /**
   * The hash of the latest event on a chain (`shipment:X`, `licence:L`,
   * `party:P`, `event:HASH`), i.e. the `prev` the next event must carry;
   * null when the chain has no events yet.
   */
  async head(chain: string): Promise<string | null> {
    const state = new CustodyState(this.space);
    const head = (await state.head(chain)) ?? null;
    // The index holds what the mirror holds; a head beyond the tree it serves is not to be told yet.
    if (head !== null && this.log.servedSize < this.log.size) {
      const at = await state.byHash(head);
      if (at === undefined || at.index >= this.log.servedSize) throw catchingUp(this.log.size);
    }
    return head;
  }

  /** A C2SP tile or entry bundle of the tree served (see tiles.ts). */
  tile(address: TileAddress): Promise<Uint8Array> {
    return this.log.tile(address);
  }

  /** One entry with its event. */
  async event(index: number | bigint): Promise<EventEntry> {
    return toEventEntry(await this.log.entry(index));
  }

  /** `event`, through the entry cache: for entries every history reads, the genesis first. */
  private async cachedEvent(index: number): Promise<EventEntry> {
    const cached = this.entryCache.get(index);
    if (cached !== undefined) return cached;
    const entry = await this.event(index);
    this.entryCache.set(index, entry);
    return entry;
  }

  async events(start: number, end: number): Promise<EventEntry[]> {
    return (await this.log.entries(start, end)).map(toEventEntry);
  }

  inclusionProof(index: number | bigint, size?: number | bigint): Promise<Hash[]> {
    return this.log.inclusionProof(index, size);
  }

  consistencyProof(from: number | bigint, to?: number | bigint): Promise<Hash[]> {
    return this.log.consistencyProof(from, to);
  }

  /**
   * Reads the events under an index key, as of a tree size: an append in
   * progress may have indexed entries the tree does not cover yet. With
   * `verify`, for a history, which checks every signature, each entry's
   * check starts as it is found (see startVerifying), the first
   * CHECKS_ON_LOOP entries read on the event loop; a bundle checks none.
   */
  lookupAt(size: number, { verify = false }: { verify?: boolean } = {}): Lookup {
    // Reads in flight for this history, so that two lookups finding the same entry read it once.
    const reading = new Map<number, Promise<EventEntry>>();
    let onLoop = CHECKS_ON_LOOP;
    const check = verify ? (e: EventEntry) => this.startVerifying(e, onLoop-- > 0) : undefined;
    // Lookups begun for this history, the ones asked for ahead among them.
    const looking = new Map<string, Promise<EventEntry[]>>();
    const lookup = (key: string): Promise<EventEntry[]> => {
      let events = looking.get(key);
      if (events === undefined) {
        events = this.indexedBelow(key, size).then((rows) => {
          // The keys the history will look up next because of these rows, begun
          // now, beside this round's entries (see vocabulary.ts indexRowsOf).
          for (const row of rows) {
            for (const next of row.next) if (!looking.has(next)) lookup(next).catch(() => undefined);
          }
          return this.eventsAt(
            rows.map((r) => r.index),
            reading,
            check,
          );
        });
        looking.set(key, events);
      }
      return events;
    };
    return lookup;
  }

  /**
   * The events at these indices, from the entry cache, a read this history
   * has under way, or one read; `check` starts the check of each one read.
   */
  private eventsAt(
    indices: readonly number[],
    reading: Map<number, Promise<EventEntry>>,
    check: ((e: EventEntry) => void) | undefined,
  ): Promise<EventEntry[]> {
    const found = indices.map((i) => this.entryCache.get(i) ?? reading.get(i));
    const missing = indices.filter((_, n) => found[n] === undefined);
    if (missing.length > 0) {
      // The entries not read yet, in one read of the store.
      const read = this.log.entriesAt(missing).then((entries) => {
        const events = entries.map(toEventEntry);
        if (check !== undefined) for (const e of events) check(e);
        return events;
      });
      read.catch(() => undefined); // each entry's promise carries the error to its reader
      for (const [n, i] of missing.entries()) {
        reading.set(
          i,
          read.then((entries) => {
            const entry = entries[n] as EventEntry;
            this.entryCache.set(i, entry);
            return entry;
          }),
        );
      }
    }
    return Promise.all(indices.map((i, n) => found[n] ?? (reading.get(i) as Promise<EventEntry>)));
  }

  /**
   * Starts checking the signature of an entry just read under its signer's
   * key as admission knows it, while the history goes on gathering, so that
   * the check that counts (under the key the signer had at that entry, once
   * the registrations are gathered) finds it done or under way: `onLoop`,
   * done now, on the event loop; otherwise under way on the verification
   * threads. Only for parties already in memory: reading one here would
   * cost a trip.
   */
  private startVerifying(e: EventEntry, onLoop: boolean): void {
    const key = this.parties.get(e.event.signer)?.keys.find((k) => k.keyId === e.event.key);
    if (key === undefined || e.message === undefined) return;
    try {
      const publicKey = partyPublicKey(e.event.signer, key.vkey).key;
      if (onLoop) verifyEventMessage(e.message, e.sig, publicKey);
      else void verifyEventMessageAsync(e.message, e.sig, publicKey, this.checkOnThreads);
    } catch {
      // A key that does not parse is the history's own check to report.
    }
  }

  /** A group from `first` to `size` was written with `writes`: the read caches take it in. */
  private readCachesFollow(first: number, size: number, writes: readonly ExtraWrite[]): void {
    this.scans.committed(first, size, () => indexKeysIn(writes));
    this.corrections.committed(first, size, indexRowsIn(writes, this.corrections.family));
  }

  /** The index rows under a key below `size`, from the read caches or the store. */
  private async indexedBelow(key: string, size: number): Promise<IndexRow[]> {
    if (key.startsWith(this.corrections.family)) {
      const held = await this.corrections.get(key, size);
      if (held !== undefined) return held;
    }
    const known = this.scans.get(key, size);
    if (known !== undefined) return known;
    // Read before the scan: every index row below it was written in an earlier batch.
    const through = this.log.size;
    const all = await indexed(this.space, key);
    this.scans.set(key, all, through);
    return all.filter((r) => r.index < size);
  }

  /**
   * The events a history or bundle of `subject` is made of, as of `size`, in
   * log order; `verify` as for lookupAt.
   */
  async gather(
    subject: Subject,
    size = this.log.servedSize,
    options: { verify?: boolean } = {},
  ): Promise<EventEntry[]> {
    // A history needs the signed tree it comes from; the first part of one is not enough.
    if (this.log.checkpoint === '') throw catchingUp(this.log.size);
    if (size === 0) throw new CustodyError('CUSTODY_NOT_FOUND', 'the ledger is empty', 404);
    const lookup = this.lookupAt(size, options);
    if ((await lookup(subjectKey(subject))).length === 0) {
      throw new CustodyError('CUSTODY_NOT_FOUND', `nothing in the log about ${subjectKey(subject)}`, 404);
    }
    return (await gather(subject, lookup, await this.cachedEvent(0))) as EventEntry[];
  }

  /** The subject's timeline, checks, flags and verdict, as of `now` (default: the node's clock). */
  async history(subject: Subject, now: Date = this.clock()): Promise<History> {
    const size = this.log.servedSize;
    const events = await this.gather(subject, size, { verify: true });
    return {
      ...assess(subject, events, now, await verifyEventsAsync(events, this.checkOnThreads)),
      size,
      events,
    };
  }

  /**
   * A self-contained evidence bundle of the subject's history against the
   * latest checkpoint. `checkpoint` may give that same checkpoint with witness
   * cosignatures added; anything else is ignored.
   */
  async bundle(subject: Subject, options: { checkpoint?: string } = {}): Promise<Bundle> {
    // Size and checkpoint are read in one tick, so they always agree.
    const size = this.log.servedSize;
    const signed = this.log.checkpoint;
    const checkpoint = options.checkpoint?.startsWith(signed) === true ? options.checkpoint : signed;
    const events = await this.gather(subject, size);
    // One read for every proof: they share the upper levels of the tree.
    const proofs = await this.log.inclusionProofs(
      events.map((e) => e.index),
      size,
    );
    const entries = events.map((e) => ({
      index: e.index,
      leaf: e.leaf,
      proof: proofs.get(e.index) as Hash[],
    }));
    return makeBundle(subject, this.log.logVkey, checkpoint, entries);
  }

  /**
   * Audits the whole log: the Merkle structure (see Log.audit), every
   * event's signature under the key its signer had at that entry, and the
   * custody indexes against the entries that wrote them (see index-audit.ts).
   */
  async audit(options: Pick<AuditOptions, 'onProgress'> = {}): Promise<AuditReport> {
    const checker = new EventChecker();
    const indexes = new IndexAudit(this.space, async (index) => {
      try {
        const { event, hash } = toEventEntry(await this.log.heldEntry(index));
        return { event, hash };
      } catch {
        return undefined;
      }
    });
    let indexProblem: AuditProblem | undefined;
    const firstIndexProblem = (p: AuditProblem | undefined) => {
      if (p !== undefined && (indexProblem === undefined || p.index < indexProblem.index)) indexProblem = p;
    };
    const pool = VerifyPool.forAudit();
    const verify = verifyMessageOn(pool);
    // Not async: everything but the signature is checked here, in log order,
    // before the next entry; the signature answers from the pool's threads.
    const checkEntry = (
      entry: LeafEntry,
      index: number,
      eventJson: string,
    ): string | Promise<string | undefined> => {
      let event: LoggedEvent['event'];
      try {
        event = parseEvent(entry.event);
      } catch (e) {
        return `entry ${index}: ${(e as Error).message}`;
      }
      const { message, hash } = digestEventJson(eventJson);
      const problems = checker.checkAsync(
        { index, received: entry.received, event, sig: entry.sig, hash },
        message,
        verify,
      );
      // The index bookkeeping also runs now, in order; only its batched reads answer later.
      return Promise.all([problems, indexes.add(event, hash, index)]).then(([p, indexProblem]) => {
        firstIndexProblem(indexProblem);
        return p.length > 0 ? p.join('; ') : undefined;
      });
    };
    let report: AuditReport;
    try {
      report = await this.log.audit({ ...options, checkEntry });
    } finally {
      await pool.close();
    }
    if (!report.ok) return report;
    const problem = indexProblem ?? (await indexes.finish(report.size));
    return problem === undefined ? report : { ...report, ok: false, problem };
  }

  now(): Date {
    return this.clock();
  }

  async close(): Promise<void> {
    this.closing = true;
    const verifier = this.verifier;
    this.verifier = undefined;
    await verifier?.close();
    await this.log.close();
  }
}

/** An entry a group admitted or found again, placed in the log. */
interface Placed {
  readonly index: number;
  readonly hash: string;
  readonly duplicate: boolean;
}

/** What admission made of one submission of a group. */
type Admission = Placed | CustodyError;

/** A failed write as its submitters are told it. */
function storageError(e: unknown): CustodyError {
  return e instanceof CustodyError
    ? e
    : new CustodyError('CUSTODY_STORAGE', 'the write failed; try again', 503);
}

/** For a duplicate of an entry whose group's write failed after it was found. */
function notWritten(): CustodyError {
  return new CustodyError(
    'CUSTODY_STORAGE',
    'storage failed while writing the entry this repeats; send the same signed events again',
    503,
  );
}

/** What a mirror answers for what it cannot serve before it has caught up. */
function catchingUp(held: number): CustodyError {
  return new CustodyError(
    'CUSTODY_UNAVAILABLE',
    `this mirror is still catching up with its source (${held} entries so far); retry shortly`,
    503,
  );
}

function toEventEntry(stored: StoredEntry): EventEntry {
  const { entry } = stored;
  const { message, hash } = digestEventJson(stored.eventJson);
  return {
    index: stored.index,
    received: entry.received,
    event: entry.event as unknown as LoggedEvent['event'],
    sig: entry.sig,
    hash,
    message,
    leaf: stored.leaf,
    leafHash: stored.leafHash,
  };
}

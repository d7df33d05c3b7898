/**
 * The Log: an append-only, hash-chained RFC 9162 Merkle log in one folder,
 * knowing nothing of custody. Appends are sequenced one group at a time; each
 * group is one durable batch and one new signed checkpoint, and nothing is
 * reported appended before the batch is on disk. A group is staged (placed
 * after every group staged before it, its checkpoint signed) while the one
 * before it is still being written, and the batches go to the store one at a
 * time, in order. The custody Ledger builds on it and adds its own indexes to
 * the same batch.
 */

import { type AuditOptions, type AuditReport, auditStore } from './audit.js';
import { concat, equalBytes, toHex, toSafeIndex } from './bytes.js';
import { type Checkpoint, openCheckpoint, signCheckpoint, treeLeadsTo } from './checkpoint.js';
import { CustodyError } from './errors.js';
import {
  EMPTY_FRONTIER,
  extendFrontier,
  type Frontier,
  frontierLevels,
  frontierRoot,
  type StoredSubtree,
} from './frontier.js';
import { CHAIN_START, decodeLeaf, type EntryInput, encodeLeaf, type LeafEntry, readLeaf } from './leaf.js';
import {
  consistencyRanges,
  type Hash,
  hashLeaf,
  hashRanges,
  inclusionRanges,
  rootFromSubtrees,
  type Subtree,
} from './merkle.js';
import { ed25519Signer, ed25519Verifier, isKeyName, type NoteSigner, type NoteVerifier } from './note.js';
import { edgeSubtrees, RecentSubtrees } from './recent-subtrees.js';
import { type ExtraWrite, type KeySpace, type LedgerState, Store } from './store.js';
import { encodeEntryBundle, type TileAddress, tileRange } from './tiles.js';

/** An entry as stored: its exact leaf bytes, their hash and the parsed entry. */
export interface StoredEntry {
  readonly index: number;
  readonly leaf: Uint8Array;
  readonly leafHash: Hash;
  readonly entry: LeafEntry;
  /** The event's canonical text, as the leaf holds it. */
  readonly eventJson: string;
}

/** A group placed after every group staged before it; `written` settles once its batch is on disk, or is not. */
export interface StagedAppend {
  readonly firstIndex: number;
  readonly written: Promise<AppendResult>;
}

/** The tree as it will be once every staged group is written. */
interface StagedTree {
  readonly frontier: Frontier;
  readonly lastLeafHash: Hash;
}

export interface AppendResult {
  /** Index of the first appended entry; the group occupies [firstIndex, firstIndex + leafHashes.length). */
  readonly firstIndex: number;
  readonly leafHashes: readonly Hash[];
  /** The signed checkpoint that covers the group (the tree right after it). */
  readonly checkpoint: string;
  readonly size: number;
}

/**
 * Writes a layer above the log adds to an append's batch, so its indexes are
 * exactly as durable as the entries; called with the group's first index.
 */
export type ExtraWrites = (firstIndex: number) => readonly ExtraWrite[];

export interface OpenOptions {
  /** The log's Ed25519 secret key; without it the ledger is read-only. */
  readonly secretKey?: Uint8Array;
  /** The source of receive times; a test can fix it. */
  readonly clock?: () => Date;
}

export interface CreateOptions extends OpenOptions {
  /** The log's origin, also its key name (e.g. `custody.example/log`). */
  readonly origin: string;
  readonly secretKey: Uint8Array;
}

/** A group ready to write: its leaves, and the tree and checkpoint they make. */
interface Group {
  readonly firstIndex: number;
  readonly leaves: readonly Uint8Array[];
  readonly leafHashes: readonly Hash[];
  readonly frontier: Frontier;
  readonly created: readonly StoredSubtree[];
  readonly checkpoint: string;
  readonly lastLeafHash: Hash;
  readonly prefixProof?: readonly Hash[] | undefined;
}

export class Log {
  private state: LedgerState;
  private frontier: Frontier;
  /** Enough for the receipts of a group of 8,000 entries (see RecentSubtrees). */
  private readonly recent = new RecentSubtrees(16_384);
  /** The size of the tree this log serves (see `checkpoint`). */
  private served: number;
  /** Appends wait on this, so groups are staged one at a time in call order. */
  private tail: Promise<unknown> = Promise.resolve();
  /** The tree the next group is staged on: the committed one and every group staged since. */
  private staged: StagedTree;
  /** The last batch handed to the store; the next waits for it, so batches land in order. */
  private writing: Promise<unknown> = Promise.resolve();
  /**
   * Counts failed commits. A group staged before a failure was placed on a
   * tree that did not come to be: its batch is not written.
   */
  private failures = 0;
  /** Set when a commit failed: the next group is staged on what is really on disk, read again. */
  private stale = false;
  private closed = false;

  private constructor(
    private readonly store: Store,
    state: LedgerState,
    private readonly signer: NoteSigner | undefined,
    readonly verifier: NoteVerifier,
    private readonly clock: () => Date,
  ) {
    this.state = state;
    this.frontier = { size: state.size, hashes: state.frontier };
    this.staged = { frontier: this.frontier, lastLeafHash: state.lastLeafHash };
    this.recent.add(edgeSubtrees(this.frontier));
    this.served = servedSizeOf(state, verifier);
  }

  /** Creates a new, empty ledger in `dir` (which must not hold one) and signs its size-0 checkpoint. */
  static async create(dir: string, options: CreateOptions): Promise<Log> {
    if (!isKeyName(options.origin)) {
      throw new CustodyError(
        'CUSTODY_BAD_INPUT',
        `origin "${options.origin}" must be non-empty with no spaces or "+"`,
      );
    }
    const signer = ed25519Signer(options.origin, options.secretKey);
    const store = await Store.open(dir, true);
    const state: LedgerState = {
      version: 1,
      origin: options.origin,
      logVkey: signer.vkey,
      size: 0,
      frontier: [],
      lastLeafHash: new Uint8Array(32),
      checkpoint: signCheckpoint(
        { origin: options.origin, size: 0n, root: frontierRoot(EMPTY_FRONTIER), extensions: [] },
        signer,
      ),
    };
    try {
      await store.commit({ firstIndex: 0, leaves: [], subtrees: [], state });
    } catch (e) {
      await store.close();
      throw e;
    }
    return new Log(store, state, signer, ed25519Verifier(signer.vkey), options.clock ?? (() => new Date()));
  }

  /**
   * Creates an empty mirror of another log: it holds that log's key, signs
   * nothing, and grows only by appendVerified.
   */
  static async createMirror(dir: string, options: { logVkey: string; clock?: () => Date }): Promise<Log> {
    const verifier = ed25519Verifier(options.logVkey);
    const store = await Store.open(dir, true);
    const state: LedgerState = {
      version: 1,
      origin: verifier.name,
      logVkey: options.logVkey,
      size: 0,
      frontier: [],
      lastLeafHash: new Uint8Array(32),
      checkpoint: '',
    };
    try {
      await store.commit({ firstIndex: 0, leaves: [], subtrees: [], state });
    } catch (e) {
      await store.close();
      throw e;
    }
    return new Log(store, state, undefined, verifier, options.clock ?? (() => new Date()));
  }

  /**
   * Opens an existing ledger. Reads only the stored state, whatever the log's
   * size, and checks it against its own signed checkpoint before trusting it.
   */
  static async open(dir: string, options: OpenOptions = {}): Promise<Log> {
    const store = await Store.open(dir, false);
    try {
      const state = await store.readState();
      if (state === undefined) {
        throw new CustodyError('CUSTODY_CORRUPT_STATE', `${dir} holds a database but no ledger state`, 500);
      }
      const verifier = ed25519Verifier(state.logVkey);
      checkState(state, verifier);
      let signer: NoteSigner | undefined;
      if (options.secretKey !== undefined) {
        const candidate = ed25519Signer(state.origin, options.secretKey);
        if (candidate.vkey !== state.logVkey) {
          throw new CustodyError(
            'CUSTODY_WRONG_LOG_KEY',
            `the key given is not this ledger's log key (${state.logVkey}); use the key the ledger was created with`,
            403,
          );
        }
        signer = candidate;
      }
      const log = new Log(store, state, signer, verifier, options.clock ?? (() => new Date()));
      await log.checkServed();
      return log;
    } catch (e) {
      await store.close();
      throw e;
    }
  }

  get origin(): string {
    return this.state.origin;
  }

  /** The entries held; a mirror catching up in parts may serve fewer (see `servedSize`). */
  get size(): number {
    return this.state.size;
  }

  /** The index the next group staged starts at: the size once every group staged is written. */
  get nextIndex(): number {
    return this.staged.frontier.size;
  }

  /**
   * The size of the tree this log serves: every read (entries, proofs,
   * tiles) is of that tree. It is the size held, except while a mirror
   * catches up in parts: then it is the last whole tree's, or 0.
   */
  get servedSize(): number {
    return this.served;
  }

  /** The log's verifier key (c2sp.org/signed-note vkey). */
  get logVkey(): string {
    return this.state.logVkey;
  }

  /**
   * The signed checkpoint of the tree this log serves: its latest, except
   * while a mirror catches up in parts (holding only the first part of the
   * tree it accepted): then the last whole tree it held, so that it goes on
   * serving it; none ('') for a mirror that never held one.
   */
  get checkpoint(): string {
    return this.state.prefixProof === undefined ? this.state.checkpoint : (this.state.served ?? '');
  }

  /** The latest signed checkpoint a mirror has accepted, whether it holds all of its tree yet or not. */
  get accepted(): string {
    return this.state.checkpoint;
  }

  get root(): Hash {
    return frontierRoot(this.frontier);
  }

  /**
   * Appends a group of entries as one atomic, durable batch and signs one
   * checkpoint for it. Concurrent calls are sequenced in call order. If any
   * entry cannot be encoded, nothing of the group is written.
   */
  append(inputs: readonly EntryInput[], extra?: ExtraWrites): Promise<AppendResult> {
    return this.stage(inputs, extra).then((staged) => staged.written);
  }

  /**
   * `append` in two steps: resolves once the group is placed after every
   * group staged before it and its checkpoint signed, with its write under
   * way (see StagedAppend). The next group can be staged, and what it reads
   * worked out, while this one is written. A group whose batch fails takes
   * down every group staged after it, unwritten.
   */
  stage(inputs: readonly EntryInput[], extra?: ExtraWrites): Promise<StagedAppend> {
    const run = this.tail.then(() => this.stageNow(inputs, extra));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async stageNow(inputs: readonly EntryInput[], extra?: ExtraWrites): Promise<StagedAppend> {
    this.assertOpen();
    const signer = this.signer;
    if (signer === undefined) {
      throw new CustodyError(
        'CUSTODY_WRONG_LOG_KEY',
        'this ledger was opened read-only (no log key given)',
        403,
      );
    }
    await this.settleNow();
    if (inputs.length === 0)
      throw new CustodyError('CUSTODY_BAD_INPUT', 'an append needs at least one entry');

    const firstIndex = this.nextIndex;
    const leaves: Uint8Array[] = [];
    const leafHashes: Hash[] = [];
    let prev = this.staged.lastLeafHash;
    for (const [i, input] of inputs.entries()) {
      const index = firstIndex + i;
      const leaf = encodeLeaf(
        {
          index,
          prev: index === 0 ? CHAIN_START : toHex(prev),
          received: input.received,
          event: input.event,
          sig: input.sig,
        },
        input.eventJson,
      );
      prev = hashLeaf(leaf);
      leaves.push(leaf);
      leafHashes.push(prev);
    }
    const { frontier, created } = extendFrontier(this.staged.frontier, leafHashes);
    // The new tree extends the frontier of the last signed one, so this
    // checkpoint is consistent with every checkpoint signed before it.
    const checkpoint = signCheckpoint(
      {
        origin: this.state.origin,
        size: BigInt(frontier.size),
        root: frontierRoot(frontier),
        extensions: [],
      },
      signer,
    );
    const written = this.queueCommit(
      { firstIndex, leaves, leafHashes, frontier, created, checkpoint, lastLeafHash: prev },
      extra,
    );
    return { firstIndex, written };
  }

  /**
   * For a mirror: appends the source log's own leaves, byte for byte, once
   * they are shown to continue this log's hash chain and to make exactly the
   * tree that the source's signed checkpoint names, or, with `prefixProof`
   * (a consistency proof from the new size to the checkpoint's), the first
   * part of it: a long catch-up goes in parts, and until the last one the log
   * serves no checkpoint. Nothing is written otherwise.
   */
  appendVerified(
    leaves: readonly Uint8Array[],
    checkpoint: string,
    extra?: ExtraWrites,
    prefixProof?: readonly Hash[],
  ): Promise<AppendResult> {
    const run = this.tail.then(() => this.appendVerifiedNow(leaves, checkpoint, extra, prefixProof));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async appendVerifiedNow(
    leaves: readonly Uint8Array[],
    note: string,
    extra?: ExtraWrites,
    prefixProof?: readonly Hash[],
  ): Promise<AppendResult> {
    this.assertOpen();
    if (this.signer !== undefined) {
      throw new CustodyError(
        'CUSTODY_BAD_INPUT',
        'a log with its own key signs its own entries; only a mirror appends verified ones',
        400,
      );
    }
    await this.settleNow();
    const bad = (why: string) => new CustodyError('CUSTODY_BAD_PROOF', `the source log ${why}`, 502);
    const firstIndex = this.nextIndex;
    let prev = this.staged.lastLeafHash;
    const leafHashes = leaves.map((leaf, i) => {
      const index = firstIndex + i;
      const entry = decodeLeaf(leaf);
      if (entry.index !== index) throw bad(`sent entry ${entry.index} where entry ${index} belongs`);
      if (entry.prev !== (index === 0 ? CHAIN_START : toHex(prev)))
        throw bad(`sent entry ${index}, which does not link to entry ${index - 1}`);
      prev = hashLeaf(leaf);
      return prev;
    });
    const { frontier, created } = extendFrontier(this.staged.frontier, leafHashes);
    const { checkpoint } = openCheckpoint(note, this.verifier);
    if (!treeLeadsTo(checkpoint, frontier.size, frontierRoot(frontier), prefixProof)) {
      throw bad(
        prefixProof === undefined
          ? `sent entries that do not make the tree its checkpoint of size ${checkpoint.size} signs`
          : `sent entries that do not lead to the tree its checkpoint of size ${checkpoint.size} signs`,
      );
    }
    // A mirror's parts are not staged ahead: each is written before the next is checked.
    return this.queueCommit(
      {
        firstIndex,
        leaves,
        leafHashes,
        frontier,
        created,
        checkpoint: note,
        lastLeafHash: prev,
        prefixProof,
      },
      extra,
    );
  }

  /**
   * Stages a group on the tree: its batch is written after every batch
   * before it, unless one of those fails. Returns its write.
   */
  private queueCommit(g: Group, extra: ExtraWrites | undefined): Promise<AppendResult> {
    this.staged = { frontier: g.frontier, lastLeafHash: g.lastLeafHash };
    const failures = this.failures;
    const written = this.writing.then(() => {
      if (this.failures !== failures) {
        throw new CustodyError(
          'CUSTODY_STORAGE',
          'storage failed while writing the group before this one, so this one was not written; send the same signed events again',
          503,
        );
      }
      return this.commitGroup(g, extra);
    });
    this.writing = written.catch(() => undefined);
    return written;
  }

  /** Writes a group and its new state in one durable batch, then adopts the state. */
  private async commitGroup(g: Group, extra?: ExtraWrites): Promise<AppendResult> {
    const { version, origin, logVkey } = this.state;
    // A part of a catch-up keeps the last whole tree served, if there is one.
    const whole = this.state.prefixProof === undefined ? this.state.checkpoint : this.state.served;
    const served = g.prefixProof !== undefined && whole !== undefined && whole !== '' ? whole : undefined;
    const state: LedgerState = {
      version,
      origin,
      logVkey,
      size: g.frontier.size,
      frontier: g.frontier.hashes,
      lastLeafHash: g.lastLeafHash,
      checkpoint: g.checkpoint,
      ...(g.prefixProof === undefined ? {} : { prefixProof: g.prefixProof }),
      ...(served === undefined ? {} : { served }),
    };
    try {
      await this.store.commit(
        { firstIndex: g.firstIndex, leaves: g.leaves, subtrees: g.created, state },
        extra?.(g.firstIndex) ?? [],
      );
    } catch (e) {
      this.stale = true;
      this.failures++;
      throw e;
    }
    this.state = state;
    this.frontier = g.frontier;
    this.recent.add(g.created);
    this.recent.add(edgeSubtrees(g.frontier));
    this.served = servedSizeOf(state, this.verifier);
    return {
      firstIndex: g.firstIndex,
      leafHashes: g.leafHashes,
      checkpoint: g.checkpoint,
      size: g.frontier.size,
    };
  }

  /** The receive time a node stamps on entries it appends now. */
  now(): string {
    return this.clock().toISOString();
  }

  /** Settles once every group staged so far is written, or failed. */
  async allWritten(): Promise<void> {
    await this.writing;
  }

  /**
   * After a failed commit, adopts what is really on disk before anything is
   * sequenced against the size: the batch may have landed even though its
   * write reported an error. A no-op otherwise.
   */
  settle(): Promise<void> {
    const run = this.tail.then(() => this.settleNow());
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async settleNow(): Promise<void> {
    if (!this.stale) return;
    // The groups staged after the failed one are refused, not written; once they are, the disk holds the truth.
    await this.writing;
    await this.reload();
  }

  /** After a failed commit, adopt what is really on disk: the batch either landed whole or not at all. */
  private async reload(): Promise<void> {
    const state = await this.store.readState();
    if (state === undefined)
      throw new CustodyError('CUSTODY_CORRUPT_STATE', 'the ledger state vanished', 500);
    checkState(state, this.verifier);
    this.state = state;
    this.frontier = { size: state.size, hashes: state.frontier };
    this.staged = { frontier: this.frontier, lastLeafHash: state.lastLeafHash };
    this.recent.add(edgeSubtrees(this.frontier));
    this.served = servedSizeOf(state, this.verifier);
    this.stale = false;
  }

  /**
   * The tree a mirror serves while catching up must be the one its stored
   * subtree hashes make up to that size (an audit then holds those hashes to
   * the entries): read from the store, not from the recent subtrees, which
   * hold the state's own edge.
   */
  private async checkServed(): Promise<void> {
    if (this.state.served === undefined) return;
    const { checkpoint } = openCheckpoint(this.state.served, this.verifier);
    const stored = (subtrees: readonly Subtree[]) => this.store.subtrees(subtrees);
    if (!equalBytes(await rootFromSubtrees(this.served, stored), checkpoint.root)) {
      throw new CustodyError(
        'CUSTODY_CORRUPT_STATE',
        `the checkpoint this mirror serves (size ${checkpoint.size}) does not match the entries it holds; run an audit`,
        500,
      );
    }
  }

  async entry(index: number | bigint): Promise<StoredEntry> {
    const i = this.index(index, 'entry');
    const [found] = await this.entries(i, i + 1);
    return found as StoredEntry;
  }

  /**
   * An entry held, served or not (a mirror catching up in parts holds more
   * than it serves): for the ledger's own bookkeeping, never for readers.
   */
  async heldEntry(index: number): Promise<StoredEntry> {
    this.assertOpen();
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) {
      throw new CustodyError('CUSTODY_OUT_OF_RANGE', `entry ${index} is not held (size ${this.size})`, 404);
    }
    const [leaf] = await this.store.leafRange(index, index + 1);
    return storedEntry(index, leaf as Uint8Array);
  }

  /** Entries [start, end) of the tree served. */
  async entries(start: number, end: number): Promise<StoredEntry[]> {
    this.assertOpen();
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(end) ||
      start < 0 ||
      end < start ||
      end > this.served
    ) {
      throw new CustodyError(
        'CUSTODY_OUT_OF_RANGE',
        `entries [${start}, ${end}) are not in a tree of ${this.served}`,
        404,
      );
    }
    const leaves = await this.store.leafRange(start, end);
    return leaves.map((leaf, i) => storedEntry(start + i, leaf));
  }

  /** Entries at the given indices of the tree served, in one read. */
  async entriesAt(indices: readonly number[]): Promise<StoredEntry[]> {
    this.assertOpen();
    for (const i of indices) this.index(i, 'entry');
    const leaves = await this.store.leavesAt(indices);
    return leaves.map((leaf, i) => storedEntry(indices[i] as number, leaf));
  }

  /** The root of the tree at any size up to the one served. */
  async rootAt(size: number | bigint): Promise<Hash> {
    const n = this.treeSize(size);
    if (n === this.size) return this.root;
    return rootFromSubtrees(n, this.readSubtrees);
  }

  /** RFC 9162 inclusion proof of entry `index` in the tree of `size`. */
  async inclusionProof(index: number | bigint, size: number | bigint = this.served): Promise<Hash[]> {
    const n = this.treeSize(size);
    const i = this.index(index, 'entry');
    if (i >= n)
      throw new CustodyError('CUSTODY_OUT_OF_RANGE', `entry ${i} is not in a tree of size ${n}`, 400);
    return hashRanges(inclusionRanges(i, n), this.readSubtrees);
  }

  /** Inclusion proofs of many entries in the tree of `size`, with one read for all of them. */
  async inclusionProofs(indices: readonly number[], size: number): Promise<Map<number, Hash[]>> {
    const n = this.treeSize(size);
    const unique = [...new Set(indices)].map((i) => {
      const index = this.index(i, 'entry');
      if (index >= n)
        throw new CustodyError('CUSTODY_OUT_OF_RANGE', `entry ${index} is not in a tree of size ${n}`, 400);
      return index;
    });
    const plans = unique.map((i) => inclusionRanges(i, n));
    const hashes = await hashRanges(plans.flat(), this.readSubtrees);
    const out = new Map<number, Hash[]>();
    let at = 0;
    for (const [k, i] of unique.entries()) {
      const length = (plans[k] as unknown[]).length;
      out.set(i, hashes.slice(at, at + length));
      at += length;
    }
    return out;
  }

  /** RFC 9162 consistency proof from the tree of `from` to the tree of `to` (0 < from ≤ to). */
  async consistencyProof(from: number | bigint, to: number | bigint = this.served): Promise<Hash[]> {
    const n = this.treeSize(to);
    const m = this.treeSize(from);
    if (m === 0 || m > n) {
      throw new CustodyError(
        'CUSTODY_BAD_PROOF',
        `no consistency proof exists from size ${m} to size ${n}`,
        400,
      );
    }
    return hashRanges(consistencyRanges(m, n), this.readSubtrees);
  }

  /**
   * A C2SP tile of the tree served: concatenated subtree hashes, or for
   * `entries` an entry bundle (each leaf prefixed by its uint16 length).
   */
  async tile(address: TileAddress): Promise<Uint8Array> {
    this.assertOpen();
    const { treeLevel, start, count } = tileRange(address, this.served);
    if (address.level === 'entries') {
      return encodeEntryBundle(await this.store.leafRange(start, start + count));
    }
    const wanted = Array.from({ length: count }, (_, i) => ({ level: treeLevel, index: start + i }));
    return concat(...(await this.store.subtrees(wanted)));
  }

  /** A named key-value space in the same database, for layers above the log; written only through `append`. */
  space(name: string): KeySpace {
    return this.store.space(name);
  }

  /** Recomputes every leaf hash, the hash chain and every stored subtree hash; names the first disagreement. */
  audit(options: AuditOptions = {}): Promise<AuditReport> {
    this.assertOpen();
    return auditStore(this.store, this.state, this.verifier, options);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    await this.writing;
    await this.store.close();
  }

  /** Hashes of complete subtrees: the recent ones from memory, the others from the store. */
  private readonly readSubtrees = async (subtrees: readonly Subtree[]): Promise<Hash[]> => {
    this.assertOpen();
    const held = subtrees.map((s) => this.recent.get(s));
    const missing = subtrees.filter((_, i) => held[i] === undefined);
    if (missing.length === 0) return held as Hash[];
    const read = await this.store.subtrees(missing);
    let next = 0;
    return held.map((h) => h ?? (read[next++] as Hash));
  };

  private index(value: number | bigint, what: string): number {
    const i = toSafeIndex(BigInt(value), what);
    if (i >= this.served)
      throw new CustodyError(
        'CUSTODY_OUT_OF_RANGE',
        `${what} ${i} is not in the log (size ${this.served})`,
        404,
      );
    return i;
  }

  private treeSize(value: number | bigint): number {
    const n = toSafeIndex(BigInt(value), 'size');
    if (n > this.served) {
      throw new CustodyError(
        'CUSTODY_OUT_OF_RANGE',
        `size ${n} is beyond the current tree (size ${this.served})`,
        400,
      );
    }
    return n;
  }

  private assertOpen(): void {
    if (this.closed) throw new CustodyError('CUSTODY_CLOSED', 'the ledger is closed', 503);
  }
}

/**
 * A stored state is trusted only if its checkpoint is signed by the log key
 * and matches the state's own size and frontier.
 */
function checkState(state: LedgerState, verifier: NoteVerifier): Checkpoint | undefined {
  // A mirror that has not synced yet has no checkpoint to hold.
  if (state.checkpoint === '' && state.size === 0 && state.frontier.length === 0) return undefined;
  const { checkpoint } = openCheckpoint(state.checkpoint, verifier);
  if (state.frontier.length !== frontierLevels(state.size).length) {
    throw new CustodyError('CUSTODY_CORRUPT_STATE', `the stored tree state is malformed; run an audit`, 500);
  }
  const root = frontierRoot({ size: state.size, hashes: state.frontier });
  if (!treeLeadsTo(checkpoint, state.size, root, state.prefixProof)) {
    throw new CustodyError(
      'CUSTODY_CORRUPT_STATE',
      `the stored tree (size ${state.size}) does not match its signed checkpoint (size ${checkpoint.size}); run an audit`,
      500,
    );
  }
  if (state.served !== undefined && servedSizeOf(state, verifier) >= state.size) {
    throw new CustodyError(
      'CUSTODY_CORRUPT_STATE',
      `the stored state serves a tree it does not hold the first part of; run an audit`,
      500,
    );
  }
  return checkpoint;
}

/** See `Log.servedSize`. Checks the signature of the checkpoint served while catching up. */
function servedSizeOf(state: LedgerState, verifier: NoteVerifier): number {
  if (state.prefixProof === undefined) return state.size;
  if (state.served === undefined) return 0;
  return Number(openCheckpoint(state.served, verifier).checkpoint.size);
}

function storedEntry(index: number, leaf: Uint8Array): StoredEntry {
  const { entry, eventJson } = readLeaf(leaf);
  return { index, leaf, leafHash: hashLeaf(leaf), entry, eventJson };
}

/**
 * The LevelDB layout of a ledger. Sublevels:
 *   leaves  u64be(index)               → leaf bytes
 *   tree    u8(level) || u64be(index)  → 32-byte hash of that complete subtree
 *   meta    "state"                    → the tree state (JSON), the only thing opening reads
 * Beside LevelDB's files, `custody-key-filters`: a cache of absent keys (saved-filters.ts).
 * Keys are fixed-width big-endian so they sort the way they are scanned.
 * Everything one append changes goes into one batch written with sync: true.
 */
import type { AbstractSublevel } from 'abstract-level';
import type { Level } from 'level';
import { fromHex, toHex, utf8 } from './bytes.js';
import { CustodyError } from './errors.js';
import type { StoredSubtree } from './frontier.js';
import { KeyFilter } from './key-filter.js';
import type { Hash, Subtree } from './merkle.js';
import {
  claimSavedFilters,
  readClaimedFilters,
  releaseClaimedFilters,
  type SavedFilter,
  saveFilters,
} from './saved-filters.js';

type Bytes = Uint8Array;

type Sublevel = AbstractSublevel<Level<Bytes, Bytes>, string | Buffer | Uint8Array, Bytes, Bytes>;

/**
 * LevelDB's table files kept open (it keeps 10 of these for its own files).
 * An open table is mapped into the process, its decompressed index held
 * beside it, and every page a read touched stays in the process's RSS until
 * the table is closed: with LevelDB's default of 1,000, a ledger's RSS grew
 * with its size until it had 1,000 tables (about 2.5 × 10^6 entries). At
 * 10^6 entries (382 tables), 200 took the mapped pages of a 10^6-event
 * ingest from 86 to 62–74 MB at its end and of 20,000 random reads by 90 MB,
 * with histories, bundles, reads and ingest as fast (BENCHMARKS.md, item 60).
 */
const MAX_OPEN_FILES = 200;

function openSublevel(db: Level<Bytes, Bytes>, name: string): Sublevel {
  return db.sublevel<Bytes, Bytes>(name, { keyEncoding: 'view', valueEncoding: 'view' });
}

/** The persisted state of a ledger. */
export interface LedgerState {
  readonly version: 1;
  readonly origin: string;
  /** The log's verifier key; a ledger is only ever signed by this key. */
  readonly logVkey: string;
  readonly size: number;
  /** Right-edge subtree hashes (see frontier.ts). */
  readonly frontier: readonly Hash[];
  /** Hash of entry size - 1, the `prev` of the next entry. */
  readonly lastLeafHash: Hash;
  /** The latest signed checkpoint (a signed note). */
  readonly checkpoint: string;
  /**
   * Only while a mirror catches up on a long log, in parts: a consistency
   * proof from `size` to the checkpoint's larger size, which shows that the
   * tree held so far is the first part of the signed one.
   */
  readonly prefixProof?: readonly Hash[];
  /**
   * Only while a mirror catches up in parts, if it held a whole signed tree
   * before: that tree's checkpoint, which it goes on serving (with the
   * entries, proofs and histories of that tree) until the last part.
   */
  readonly served?: string;
}

export interface AppendBatch {
  readonly firstIndex: number;
  readonly leaves: readonly Bytes[];
  readonly subtrees: readonly StoredSubtree[];
  readonly state: LedgerState;
}

/** One write by a layer above the log into one of its key spaces; `value: undefined` deletes. */
export interface ExtraWrite {
  readonly space: KeySpace;
  readonly key: string;
  readonly value: string | undefined;
}

/** The keys a key space may hold under some prefixes (see KeySpace.filterAbsentKeys). */
interface AbsentKeys {
  readonly prefixes: readonly string[];
  /** Replaced once by the saved filter, if there is one to read back. */
  keys: KeyFilter;
  /** Whether it holds what was stored before (read back, or scanned): until then it is not asked. */
  ready: boolean;
  /** Keys written while a saved filter is being read back, to add to it. */
  since: string[] | undefined;
}

/**
 * A sublevel with string keys and values, for indexes kept beside the log.
 * Reads go to LevelDB, except those a filter of absent keys answers (see
 * filterAbsentKeys); writes only through an append's batch.
 */
export class KeySpace {
  private filter: AbsentKeys | undefined;
  private filling: Promise<boolean> | undefined;
  private stopping = false;
  private written = false;

  constructor(
    readonly sublevel: Sublevel,
    /** The filter this space's store saved when it last closed, if any (see Store.close). */
    private readonly saved: () => Promise<SavedFilter | undefined> = async () => undefined,
  ) {}

  /**
   * Answers reads of absent keys that start with one of `prefixes` from
   * memory, once a filter (key-filter.ts) holds every key stored under them:
   * read back from the file the store saved when it last closed
   * (saved-filters.ts), else filled by a scan; until the scan ends, and if
   * it fails, every read goes to LevelDB. Why: LevelDB charges a read that looks in more than one table
   * file to the first one, and compacts a file once charged about once per
   * 16 KB of it (a "seek compaction", meant for disks that seek). A read of a
   * key that is nowhere looks in every level, so admission's checks that an
   * id, a chain or a licence is new made LevelDB compact each fresh table at
   * once: half of all it rewrote at 10^6 entries (BENCHMARKS.md, item 56).
   * `expected`: about how many keys the prefixes hold. Resolves when the
   * filter is in use (true) or given up (false). Called before the space
   * takes any write, as a ledger does when it opens: a write already on its
   * way could land after the scan's snapshot and be in neither.
   */
  filterAbsentKeys(prefixes: readonly string[], expected: number): Promise<boolean> {
    if (this.filter !== undefined || this.written)
      throw new Error('filter a key space before its first write');
    const filter: AbsentKeys = { prefixes, keys: new KeyFilter(expected), ready: false, since: [] };
    // Keys written from here on are added by `wrote`, those stored before by the
    // scan: its iterators read a snapshot taken after the filter was in place.
    this.filter = filter;
    this.filling = this.fill(filter);
    return this.filling;
  }

  /**
   * Ends a scan still running (see filterAbsentKeys), before the store
   * closes; returns the filter if it is complete, to be saved.
   */
  async stopFilling(): Promise<SavedFilter | undefined> {
    this.stopping = true;
    await this.filling;
    const filter = this.filter;
    return filter?.ready === true ? { prefixes: filter.prefixes, keys: filter.keys } : undefined;
  }

  private async fill(filter: AbsentKeys): Promise<boolean> {
    const saved = await this.saved();
    if (saved !== undefined && saved.prefixes.join('\u0000') === filter.prefixes.join('\u0000')) {
      for (const key of filter.since ?? []) saved.keys.add(key);
      filter.keys = saved.keys;
      filter.since = undefined;
      filter.ready = true;
      return true;
    }
    filter.since = undefined;
    try {
      for (const prefix of filter.prefixes) {
        const options = { ...range(prefix), keyEncoding: 'utf8', highWaterMarkBytes: READ_BYTES } as const;
        const keys = this.sublevel.keys<string>(options);
        try {
          // Stopped between reads, not by closing the store under one: a read the
          // store closed under was seen never to settle (abstract-level 3.1).
          for (let some = await keys.nextv(SCAN); some.length > 0; some = await keys.nextv(SCAN)) {
            if (this.stopping) return false;
            for (const key of some) filter.keys.add(key);
          }
        } finally {
          await keys.close();
        }
      }
    } catch {
      // The store closing, or failing: reads keep going to LevelDB, as they did.
      return false;
    }
    filter.ready = true;
    return true;
  }

  /** Called by Store.commit for every key it puts into this space. */
  wrote(key: string): void {
    this.written = true;
    const filter = this.filter;
    if (filter?.prefixes.some((p) => key.startsWith(p))) {
      filter.keys.add(key);
      filter.since?.push(key);
    }
  }

  /** Whether `key` is certainly not stored (see filterAbsentKeys). */
  private absent(key: string): boolean {
    const filter = this.filter;
    return (
      filter?.ready === true && filter.prefixes.some((p) => key.startsWith(p)) && !filter.keys.mayHave(key)
    );
  }

  async get(key: string): Promise<string | undefined> {
    if (this.absent(key)) return undefined;
    try {
      return stored(
        (await this.sublevel.get<string, string>(key, { keyEncoding: 'utf8', valueEncoding: 'utf8' })) ??
          undefined,
      );
    } catch (cause) {
      throw storageError('reading an index', cause);
    }
  }

  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    const present = keys.filter((k) => !this.absent(k));
    let values: (string | undefined)[];
    try {
      values =
        present.length === 0
          ? []
          : await this.sublevel.getMany<string, string>(present, {
              keyEncoding: 'utf8',
              valueEncoding: 'utf8',
            });
    } catch (cause) {
      throw storageError('reading an index', cause);
    }
    for (const [i, value] of values.entries()) values[i] = stored(value);
    if (present.length === keys.length) return values;
    const read = new Map(present.map((k, i) => [k, values[i]]));
    return keys.map((k) => read.get(k));
  }

  /** Every [key, value] whose key starts with `prefix`, in key order. */
  async scan(prefix: string, limit = Number.POSITIVE_INFINITY): Promise<[string, string][]> {
    try {
      // all() reads in as few trips to LevelDB's thread as it can; a history makes dozens of these.
      return storedRows(
        await this.sublevel
          .iterator<string, string>({ ...range(prefix), limit: Number.isFinite(limit) ? limit : -1 })
          .all(),
      );
    } catch (cause) {
      throw storageError('scanning an index', cause);
    }
  }

  /**
   * Like `scan`, in runs of up to `count` rows, for key spaces too large to hold. In
   * runs, not a row at a time: an audit reads every row of a ledger here,
   * and each row's own promise and iterator step were about 27 KB allocated
   * for each entry of the log (BENCHMARKS.md, item 62).
   */
  async *iterate(prefix: string, count = SCAN): AsyncGenerator<[string, string][]> {
    const options = { ...range(prefix), highWaterMarkBytes: READ_BYTES } as const;
    const rows = this.sublevel.iterator<string, string>(options);
    try {
      for (let run = await rows.nextv(count); run.length > 0; run = await rows.nextv(count)) {
        yield storedRows(run);
      }
    } catch (cause) {
      throw storageError('scanning an index', cause);
    } finally {
      await rows.close();
    }
  }
}

/** Keys (or rows) a scan reads at a time (see filterAbsentKeys, iterate). */
const SCAN = 20_000;

/**
 * The most a scan's read takes from LevelDB at once: classic-level's
 * `highWaterMarkBytes` (16 KB by default, and not in abstract-level's
 * types). Each read waits for the event loop, which a busy ledger or an
 * audit keeps busy.
 */
const READ_BYTES = 1 << 20;

/** The keys of a key space that start with `prefix`, as text. */
const range = (prefix: string) =>
  ({ gte: prefix, lt: `${prefix}\uffff`, keyEncoding: 'utf8', valueEncoding: 'utf8' }) as const;

export function indexKey(index: number): Bytes {
  const key = new Uint8Array(8);
  new DataView(key.buffer).setBigUint64(0, BigInt(index));
  return key;
}

export function keyIndex(key: Bytes): number {
  return Number(new DataView(key.buffer, key.byteOffset, key.byteLength).getBigUint64(0));
}

export function subtreeKey(level: number, index: number): Bytes {
  const key = new Uint8Array(9);
  const view = new DataView(key.buffer);
  view.setUint8(0, level);
  view.setBigUint64(1, BigInt(index));
  return key;
}

const STATE_KEY = utf8('state');

/**
 * How an empty value is stored: one NUL byte, which no other value of a key
 * space is (index rows join keys with NUL, and keys are never empty). Most
 * index rows name no key to look up next, and classic-level 3.0 copies each
 * value it is given and never frees the copy of an empty one (its
 * `DisposeSliceBuffer` skips empty slices): 8 bytes lost for every such
 * row, about 35 bytes an event, without end (BENCHMARKS.md item 71).
 * Ledgers written before hold empty values; both read back as ''.
 */
const NO_VALUE = '\u0000';
const NO_VALUE_BYTES = utf8(NO_VALUE);
const stored = (value: string | undefined): string | undefined => (value === NO_VALUE ? '' : value);
/** The rows of a scan, read back in place (see NO_VALUE). */
function storedRows(rows: [string, string][]): [string, string][] {
  for (const row of rows) row[1] = stored(row[1]) as string;
  return rows;
}

function encodeState(s: LedgerState): Bytes {
  return utf8(
    JSON.stringify({
      ...s,
      frontier: s.frontier.map(toHex),
      lastLeafHash: toHex(s.lastLeafHash),
      ...(s.prefixProof === undefined ? {} : { prefixProof: s.prefixProof.map(toHex) }),
    }),
  );
}

function decodeState(bytes: Bytes): LedgerState {
  try {
    const raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
    if (
      raw.version !== 1 ||
      !Number.isSafeInteger(raw.size) ||
      !Array.isArray(raw.frontier) ||
      (raw.prefixProof !== undefined && !Array.isArray(raw.prefixProof)) ||
      (raw.served !== undefined && typeof raw.served !== 'string')
    ) {
      throw new Error('unknown state layout');
    }
    return {
      ...raw,
      frontier: raw.frontier.map((h: string) => fromHex(h, 32)),
      lastLeafHash: fromHex(raw.lastLeafHash, 32),
      ...(raw.prefixProof === undefined
        ? {}
        : { prefixProof: raw.prefixProof.map((h: string) => fromHex(h, 32)) }),
    };
  } catch (cause) {
    throw new CustodyError('CUSTODY_CORRUPT_STATE', 'the stored ledger state cannot be read', 500, { cause });
  }
}

const storageError = (what: string, cause: unknown) =>
  new CustodyError('CUSTODY_STORAGE', `storage failed while ${what}; nothing was changed, try again`, 503, {
    cause,
  });

/**
 * A write that reports an error may still have landed (LevelDB can fail after
 * logging a batch), so it cannot promise that nothing changed; a retry is safe
 * either way, since a signed event sent again gets the receipt it already has.
 */
const writeError = (cause: unknown) =>
  new CustodyError(
    'CUSTODY_STORAGE',
    'storage failed while writing; send the same signed events again: each is either taken now or answered with the receipt it already has',
    503,
    { cause },
  );

export class Store {
  private readonly spaces = new Map<string, KeySpace>();
  /** Whether this store took a write since it opened (see close). */
  private written = false;

  private constructor(
    private readonly db: Level<Bytes, Bytes>,
    private readonly dir: string,
    private readonly leaves: Sublevel,
    private readonly tree: Sublevel,
    private readonly meta: Sublevel,
    /** The filters saved at the last close, claimed by this open and not read yet (saved-filters.ts). */
    private readonly claimed: string | undefined,
  ) {}

  /** The claimed filters, read once, when a key space first asks. */
  private readSaved: Promise<Map<string, SavedFilter>> | undefined;
  private savedFilters(): Promise<Map<string, SavedFilter>> {
    this.readSaved ??=
      this.claimed === undefined ? Promise.resolve(new Map()) : readClaimedFilters(this.claimed);
    return this.readSaved;
  }

  /** Opens the database; `create` makes a new one and refuses an existing one. */
  static async open(dir: string, create: boolean): Promise<Store> {
    // Loaded here, not at the top: offline verification never opens a store,
    // and LevelDB's native module is a good part of a one-shot command's start.
    const { Level } = await import('level');
    const db = new Level<Bytes, Bytes>(dir, {
      keyEncoding: 'view',
      valueEncoding: 'view',
      createIfMissing: create,
      errorIfExists: create,
      maxOpenFiles: MAX_OPEN_FILES,
    });
    try {
      await db.open();
    } catch (cause) {
      const inner = (cause as { cause?: { message?: string; code?: string } }).cause;
      const reason = inner?.message ?? String(cause);
      if (create && /exists/i.test(reason)) {
        throw new CustodyError(
          'CUSTODY_LEDGER_EXISTS',
          `a ledger already exists in ${dir}; open it instead`,
          409,
          {
            cause,
          },
        );
      }
      // A missing parent folder fails on LevelDB's lock file: "LOCK: No such file or directory".
      if (!create && /does not exist|no such file or directory/i.test(reason)) {
        throw new CustodyError(
          'CUSTODY_NO_LEDGER',
          `no ledger in ${dir}; create one first (custody init)`,
          404,
          {
            cause,
          },
        );
      }
      if (inner?.code === 'LEVEL_LOCKED') {
        const why = `the ledger in ${dir} is in use by another process (a running node?); stop it, or go through it with --node`;
        throw new CustodyError('CUSTODY_STORAGE', why, 503, { cause });
      }
      throw new CustodyError('CUSTODY_STORAGE', `cannot open the ledger in ${dir}: ${reason}`, 503, {
        cause,
      });
    }
    let claimed: string | undefined;
    try {
      claimed = create ? undefined : await claimSavedFilters(dir);
    } catch (cause) {
      // A saved filter left in place could outlive this open's writes: no writes, then.
      await db.close();
      throw new CustodyError('CUSTODY_STORAGE', `cannot open the ledger in ${dir}: ${String(cause)}`, 503, {
        cause,
      });
    }
    return new Store(
      db,
      dir,
      openSublevel(db, 'leaves'),
      openSublevel(db, 'tree'),
      openSublevel(db, 'meta'),
      claimed,
    );
  }

  async readState(): Promise<LedgerState | undefined> {
    let bytes: Bytes | undefined;
    try {
      bytes = await this.meta.get(STATE_KEY);
    } catch (cause) {
      throw storageError('reading the tree state', cause);
    }
    return bytes === undefined ? undefined : decodeState(bytes);
  }

  /** A string key space beside the log (see KeySpace). */
  space(name: string): KeySpace {
    if (['leaves', 'tree', 'meta'].includes(name)) throw new Error(`key space "${name}" is the log's own`);
    // One object per name: a filter of absent keys must see every write to its space.
    let space = this.spaces.get(name);
    if (space === undefined) {
      space = new KeySpace(openSublevel(this.db, name), () => this.savedFilters().then((m) => m.get(name)));
      this.spaces.set(name, space);
    }
    return space;
  }

  /** Writes one append group, and what the layers above add to it, atomically and durably. */
  async commit(batch: AppendBatch, extra: readonly ExtraWrite[] = []): Promise<void> {
    this.written = true;
    // A chained batch with keys prefixed here, not an array batch with the
    // sublevel option: a 1,000-event group is about 12,000 operations, and
    // the array form clones and re-encodes each one (7 µs an operation
    // against 2 µs measured, LevelDB's own write included).
    let ops: ReturnType<Level<Bytes, Bytes>['batch']> | undefined;
    try {
      ops = this.db.batch();
      // Buffer.from, not TextEncoder: five times faster on these short strings, and a group has
      // thousands. The prefix joins the key as text: one pooled buffer, not a new one for the join.
      for (const w of extra) {
        const key = Buffer.from(w.space.sublevel.prefixKey(w.key, 'utf8'), 'utf8');
        if (w.value === undefined) ops.del(key);
        else {
          // Before the write: a key the write then fails to store is only a false positive.
          w.space.wrote(w.key);
          ops.put(key, w.value === '' ? NO_VALUE_BYTES : Buffer.from(w.value, 'utf8'));
        }
      }
      const leafKey = (i: number) => this.leaves.prefixKey(indexKey(batch.firstIndex + i), 'view');
      for (const [i, leaf] of batch.leaves.entries()) ops.put(leafKey(i), leaf);
      for (const s of batch.subtrees)
        ops.put(this.tree.prefixKey(subtreeKey(s.level, s.index), 'view'), s.hash);
      ops.put(this.meta.prefixKey(STATE_KEY, 'view'), encodeState(batch.state));
      await ops.write({ sync: true });
    } catch (cause) {
      // A chained batch lands whole or not at all; which of the two, the error does not say (see writeError).
      await ops?.close();
      throw writeError(cause);
    }
  }

  /** Stored hashes of complete subtrees, in the order asked; undefined where none is stored. */
  async storedSubtrees(wanted: readonly Subtree[]): Promise<(Hash | undefined)[]> {
    try {
      return await this.tree.getMany(wanted.map((s) => subtreeKey(s.level, s.index)));
    } catch (cause) {
      throw storageError('reading tree hashes', cause);
    }
  }

  /** Hashes of complete subtrees, in the order asked; a missing one means the store is damaged. */
  async subtrees(wanted: readonly Subtree[]): Promise<Hash[]> {
    const values = await this.storedSubtrees(wanted);
    return values.map((v, i) => {
      if (v === undefined || v.length !== 32) {
        const s = wanted[i] as Subtree;
        throw new CustodyError(
          'CUSTODY_CORRUPT_STATE',
          `the hash of subtree level ${s.level} index ${s.index} is missing or damaged; run an audit`,
          500,
        );
      }
      return v;
    });
  }

  /** Leaf bytes of [start, end), all of which must exist. */
  async leafRange(start: number, end: number): Promise<Bytes[]> {
    const out: Bytes[] = [];
    try {
      for await (const [key, value] of this.leaves.iterator({ gte: indexKey(start), lt: indexKey(end) })) {
        if (keyIndex(key) !== start + out.length) break;
        out.push(value);
      }
    } catch (cause) {
      throw storageError('reading entries', cause);
    }
    if (out.length !== end - start) {
      throw new CustodyError(
        'CUSTODY_CORRUPT_STATE',
        `entry ${start + out.length} is missing from the store; run an audit`,
        500,
      );
    }
    return out;
  }

  /** Leaf bytes at the given indices, in one read; all must exist. */
  async leavesAt(indices: readonly number[]): Promise<Bytes[]> {
    let values: (Bytes | undefined)[];
    try {
      values = await this.leaves.getMany(indices.map(indexKey));
    } catch (cause) {
      throw storageError('reading entries', cause);
    }
    return values.map((v, i) => {
      if (v === undefined) {
        throw new CustodyError(
          'CUSTODY_CORRUPT_STATE',
          `entry ${indices[i]} is missing from the store; run an audit`,
          500,
        );
      }
      return v;
    });
  }

  /**
   * Every stored leaf in key order, for audits, in runs of up to `count`;
   * yields what is there, gaps included. The next run is read while the
   * caller works on this one: read a leaf at a time, an audit's thread spent
   * over a third of its time waiting for the next (each step an async
   * iterator's hops, and a trip to LevelDB every 16 KB).
   */
  async *scanLeaves(count: number): AsyncGenerator<[index: number, leaf: Bytes][]> {
    const options = { values: true, highWaterMarkBytes: READ_BYTES };
    const leaves = this.leaves.iterator(options);
    let next = leaves.nextv(count);
    try {
      for (let run = await next; run.length > 0; run = await next) {
        next = leaves.nextv(count);
        yield run.map(([key, value]) => [keyIndex(key), value]);
      }
    } finally {
      // A run read ahead for a caller that stopped is dropped, and a failure
      // of it with it; the close waits for it.
      next.catch(() => undefined);
      await leaves.close();
    }
  }

  /**
   * Saves each key space's complete filter of absent keys, so that the next
   * open need not scan for it (see saved-filters.ts), then closes the
   * database. Saved while LevelDB's lock is still held, so that no other
   * process opens the ledger before the file is there; no write lands after
   * it, since the log takes none once it closes (Log.close). A filter that
   * cannot be saved is simply scanned for again.
   */
  async close(): Promise<void> {
    const filters = new Map<string, SavedFilter>();
    for (const [name, space] of this.spaces) {
      const filter = await space.stopFilling();
      if (filter !== undefined) filters.set(name, filter);
    }
    try {
      if (filters.size > 0) await saveFilters(this.dir, filters);
      else if (this.claimed !== undefined && this.readSaved === undefined) {
        // Claimed and never read (no key space filtered: a ledger that failed to
        // open, say): back in place if nothing was written since, else dropped.
        await releaseClaimedFilters(this.claimed, this.dir, this.written);
      }
    } catch {
      // The next open scans.
    }
    await this.db.close();
  }
}

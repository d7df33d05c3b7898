/**
 * What histories read again and again, kept between reads. A serial's
 * history makes some thirty index scans and reads some fifteen entries, and
 * half of both are the same for every history: the registrations of the
 * parties it names, their corrections (usually none), the genesis.
 */

/** Least recently used first, as a Map keeps insertion order. */
class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }

  /** The value, without making it the most recently used. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }

  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  clear(): void {
    this.map.clear();
  }
}

/**
 * Index scans: for a key, the rows under it (see indexes.ts `IndexRow`), by
 * ascending log index, complete for every index below `through`. So an entry answers exactly for any read at a
 * tree size up to `through`; a read at a larger size goes to the store.
 * `through` is the size read before the scan began: every index row below it
 * was written with its entry, in an earlier batch.
 *
 * On a node taking writes that alone would make every entry stale within a
 * group, so each commit moves `through` on for the keys it did not write
 * under and drops the ones it did. Moved on without visiting them: an entry
 * complete up to the size the cache has followed commits to is marked
 * `following`, and is complete up to wherever that size goes next. A commit
 * once visited every entry, and a node serving histories holds thousands:
 * under the load test that was a tenth of the node's main thread
 * (BENCHMARKS.md item 66).
 */
export class IndexScanCache<Row extends { readonly index: number }> {
  private readonly lru: Lru<string, Scan<Row>>;
  /** The size the cache has followed commits to; undefined before the first. */
  private followed: number | undefined;
  /**
   * Entries complete up to a size the cache has not followed commits to yet
   * (a scan that raced a commit), by key: they follow from when it gets there.
   */
  private readonly ahead = new Map<string, number>();

  constructor(private readonly capacity = 10_000) {
    this.lru = new Lru(capacity);
  }

  /** The rows under `key` below `size`, or undefined if not known for that size. */
  get(key: string, size: number): Row[] | undefined {
    const entry = this.lru.get(key);
    if (entry === undefined || size > this.throughOf(entry)) return undefined;
    return entry.rows.filter((r) => r.index < size);
  }

  set(key: string, rows: readonly Row[], through: number): void {
    this.lru.set(key, { rows, through, following: through === this.followed });
    if (this.followed === undefined || through <= this.followed) return;
    this.ahead.set(key, through);
    // Bounded: with no commit to move it on (a node that only serves reads
    // after a write that failed yet landed), every scan would land here.
    if (this.ahead.size > 2 * this.capacity) {
      for (const [k, t] of this.ahead) if (this.lru.peek(k)?.through !== t) this.ahead.delete(k);
    }
  }

  /**
   * A group [from, to) was written, with index rows under the keys `written`
   * gives. Asked only if a scan is held: a node nobody reads histories from
   * (a bulk import, a mirror catching up) would gather thousands of keys a
   * group for nothing.
   */
  committed(from: number, to: number, written: () => ReadonlySet<string>): void {
    if (this.lru.size === 0) {
      this.followed = to;
      this.ahead.clear();
      return;
    }
    if (from !== this.followed) this.followAgainFrom(from);
    for (const key of written()) this.lru.delete(key);
    this.followed = to;
    for (const [key, through] of this.ahead) {
      if (through > to) continue;
      this.ahead.delete(key);
      const entry = this.lru.peek(key);
      if (through === to && entry?.through === to) entry.following = true;
    }
  }

  clear(): void {
    this.lru.clear();
    this.ahead.clear();
  }

  private throughOf(entry: Scan<Row>): number {
    return entry.following ? (this.followed as number) : entry.through;
  }

  /**
   * A commit from a size other than the one followed (the first one seen,
   * or one after a group the cache was not told of): the entries that were
   * following stop where the cache had got to, and those complete exactly
   * up to `from` follow from here. Visits every entry, as only this case must.
   */
  private followAgainFrom(from: number): void {
    this.ahead.clear();
    for (const [key, entry] of this.lru.entries()) {
      if (entry.following) {
        entry.through = this.followed as number;
        entry.following = false;
      }
      if (entry.through === from) entry.following = true;
      else if (entry.through > from) this.ahead.set(key, entry.through);
    }
  }
}

interface Scan<Row> {
  readonly rows: readonly Row[];
  /** Complete below this, unless `following`: then below the size the cache has followed commits to. */
  through: number;
  following: boolean;
}

/**
 * Every row of one family of index keys (the `corrects:` keys: a history
 * asks for the corrections of each of its fifteen-odd events, almost always
 * none, and each ask was a scan of the store, about a fifth of a history's
 * CPU). The family is read with one scan when first asked for, is complete
 * for every index below `through` (as in IndexScanCache), and each commit
 * adds its own rows. A family of more than `capacity` rows is not held,
 * nor one that a commit could not be followed for until it is read again:
 * its lookups go to the store.
 */
export class IndexFamilyCache<Row extends { readonly index: number }> {
  private rows: Map<string, Row[]> | undefined;
  private through = 0;
  private held = 0;
  private loading: Promise<void> | undefined;
  /** Commits made while the family's scan was out, applied when it lands. */
  private pending: { from: number; to: number; rows: readonly [string, Row][] }[] = [];
  private tooLarge = false;

  constructor(
    /** The keys held: those that start with this. */
    readonly family: string,
    private readonly capacity: number,
    /** Every row of the family, up to `limit` (with the key each is under). */
    private readonly scan: (limit: number) => Promise<[string, Row][]>,
    /** The size below which every row is stored, read before the scan starts. */
    private readonly storedSize: () => number,
  ) {}

  /** The rows under `key` (of the family) below `size`, or undefined if not known for that size. */
  async get(key: string, size: number): Promise<Row[] | undefined> {
    if (this.tooLarge) return undefined;
    if (this.rows === undefined) {
      this.loading ??= this.load().finally(() => {
        this.loading = undefined;
      });
      // A failed scan leaves the family unread; the caller's own read reports the store's error.
      await this.loading.catch(() => undefined);
    }
    if (this.rows === undefined || size > this.through) return undefined;
    return (this.rows.get(key) ?? []).filter((r) => r.index < size);
  }

  /** A group [from, to) was written, with these rows of the family. */
  committed(from: number, to: number, rows: readonly [string, Row][]): void {
    if (this.loading !== undefined) this.pending.push({ from, to, rows });
    else if (this.rows !== undefined) this.follow({ from, to, rows });
  }

  private async load(): Promise<void> {
    this.pending = [];
    const through = this.storedSize();
    const all = await this.scan(this.capacity + 1);
    if (all.length > this.capacity) {
      this.tooLarge = true;
      return;
    }
    // Rows at or past `through` came from groups the pending commits bring again.
    const rows = new Map<string, Row[]>();
    this.held = 0;
    for (const [key, row] of all) {
      if (row.index >= through) continue;
      add(rows, key, row);
      this.held++;
    }
    this.rows = rows;
    this.through = through;
    for (const commit of this.pending.splice(0)) this.follow(commit);
  }

  private follow(commit: { from: number; to: number; rows: readonly [string, Row][] }): void {
    if (this.rows === undefined || commit.to <= this.through) return;
    if (commit.from !== this.through) {
      // A group not seen (e.g. a write that failed yet landed): read the family again when asked.
      this.rows = undefined;
      return;
    }
    for (const [key, row] of commit.rows) add(this.rows, key, row);
    this.through = commit.to;
    this.held += commit.rows.length;
    if (this.held > this.capacity) {
      this.tooLarge = true;
      this.rows = undefined;
    }
  }
}

function add<Row>(rows: Map<string, Row[]>, key: string, row: Row): void {
  const list = rows.get(key);
  if (list === undefined) rows.set(key, [row]);
  else list.push(row);
}

/**
 * Entries read and parsed, by log index: immutable once written, so never
 * stale. An entry is kept from its second read on: the first leaves only
 * its index, in a table of indices read once. What every history reads (the
 * genesis, the parties' registrations) is kept at once; an entry of an item
 * nobody reads again is not. Kept at its first read, each such entry lived
 * long enough in the cache to be promoted to V8's old generation, only to be
 * dropped: with the load test's readers, who read each item once, that was
 * a quarter of what the node promoted, and the full collections promotion
 * brings are what its slowest writes wait behind (BENCHMARKS.md item 73).
 */
export class EntryCache<E> {
  private readonly lru: Lru<number, E>;
  /** Indices read once, each at a slot of its hash; a later one that hashes alike takes its place. */
  private readonly readOnce: Float64Array;

  constructor(capacity = 4_096) {
    this.lru = new Lru(capacity);
    let slots = 1;
    while (slots < 2 * capacity) slots *= 2;
    this.readOnce = new Float64Array(slots).fill(-1);
  }

  get(index: number): E | undefined {
    return this.lru.get(index);
  }

  /** An entry just read: kept if its index was read before and not forgotten since. */
  set(index: number, entry: E): void {
    const slot = Math.imul(index, 0x9e3779b1) & (this.readOnce.length - 1);
    if (this.readOnce[slot] === index) this.lru.set(index, entry);
    else this.readOnce[slot] = index;
  }
}

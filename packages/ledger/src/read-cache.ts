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

  delete(key: K): void {
    this.map.delete(key);
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
 * under and drops the ones it did.
 */
export class IndexScanCache<Row extends { readonly index: number }> {
  private readonly lru: Lru<string, { readonly rows: readonly Row[]; through: number }>;

  constructor(capacity = 10_000) {
    this.lru = new Lru(capacity);
  }

  /** The rows under `key` below `size`, or undefined if not known for that size. */
  get(key: string, size: number): Row[] | undefined {
    const entry = this.lru.get(key);
    if (entry === undefined || size > entry.through) return undefined;
    return entry.rows.filter((r) => r.index < size);
  }

  set(key: string, rows: readonly Row[], through: number): void {
    this.lru.set(key, { rows, through });
  }

  /** A group [from, to) was written, with index rows under `keys`. */
  committed(from: number, to: number, keys: ReadonlySet<string>): void {
    for (const [key, entry] of this.lru.entries()) {
      if (keys.has(key)) this.lru.delete(key);
      else if (entry.through === from) entry.through = to;
    }
  }

  clear(): void {
    this.lru.clear();
  }
}

/** Entries read and parsed, by log index: immutable once written, so never stale. */
export class EntryCache<E> {
  private readonly lru: Lru<number, E>;

  constructor(capacity = 4_096) {
    this.lru = new Lru(capacity);
  }

  get(index: number): E | undefined {
    return this.lru.get(index);
  }

  set(index: number, entry: E): void {
    this.lru.set(index, entry);
  }
}

/**
 * A set of strings that answers "certainly not" or "perhaps": a Bloom filter
 * that grows by adding segments, each twice the capacity of the one before,
 * so it never needs the keys again to grow. Ten bits a key and seven
 * probes give the first segment, full, under 1 % false positives, and each
 * later one has a bit a key more; a key added is never reported absent.
 */

const PROBES = 7;
const BITS_PER_KEY = 10;
/** 128 KB: a new ledger's filter starts here, so that it reaches 10^6 keys in five segments, not ten. */
const MIN_CAPACITY = 65_536;

class Segment {
  private readonly mask: number;

  constructor(
    readonly capacity: number,
    /** A power of two of words, so that a probe is a mask, not a division. */
    readonly bits: Uint32Array,
    public count = 0,
  ) {
    this.mask = bits.length * 32 - 1;
  }

  /** An empty segment of at least `bitsPerKey` bits for each of `capacity` keys. */
  static sized(capacity: number, bitsPerKey: number): Segment {
    let size = 32;
    while (size < capacity * bitsPerKey) size *= 2;
    return new Segment(capacity, new Uint32Array(size / 32));
  }

  get bytes(): number {
    return this.bits.byteLength;
  }

  add(h1: number, h2: number): void {
    for (let i = 0, h = h1; i < PROBES; i++, h = (h + h2) | 0) {
      const bit = h & this.mask;
      this.bits[bit >>> 5] = (this.bits[bit >>> 5] as number) | (1 << (bit & 31));
    }
    this.count++;
  }

  has(h1: number, h2: number): boolean {
    for (let i = 0, h = h1; i < PROBES; i++, h = (h + h2) | 0) {
      const bit = h & this.mask;
      if (((this.bits[bit >>> 5] as number) & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

/** Whether this machine's words are little-endian, as the bytes are: then words copy as they are. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** murmur3's finalizer: spreads every input bit over the whole word. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/**
 * Two independent 32-bit hashes of the key's UTF-16 code units (FNV-1a and a
 * multiply-rotate), for double hashing: probe i is h1 + i·h2. h2 is odd, so
 * the probes of one key never repeat within a power-of-two table.
 */
function hashes(key: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b = (b << 13) | (b >>> 19);
  }
  return [mix(a ^ key.length), mix(b) | 1];
}

export class KeyFilter {
  private readonly segments: Segment[];

  /**
   * `expected`: about how many keys it will hold; it grows past that as
   * needed. `segments` only from `fromBytes`.
   */
  constructor(expected: number, segments?: Segment[]) {
    this.segments = segments ?? [Segment.sized(Math.max(MIN_CAPACITY, Math.ceil(expected)), BITS_PER_KEY)];
  }

  /**
   * The filter as bytes, to be read back by `fromBytes`: the segment count,
   * then each segment's capacity, count and length in words (u32 each,
   * little-endian), then its words.
   */
  toBytes(): Uint8Array {
    const bytes = new Uint8Array(4 + this.segments.reduce((n, s) => n + 12 + s.bits.byteLength, 0));
    const view = new DataView(bytes.buffer);
    let at = 0;
    const u32 = (n: number) => {
      view.setUint32(at, n, true);
      at += 4;
    };
    u32(this.segments.length);
    for (const segment of this.segments) {
      u32(segment.capacity);
      u32(segment.count);
      u32(segment.bits.length);
      if (LITTLE_ENDIAN) {
        bytes.set(new Uint8Array(segment.bits.buffer, segment.bits.byteOffset, segment.bits.byteLength), at);
        at += segment.bits.byteLength;
      } else for (const word of segment.bits) u32(word);
    }
    return bytes;
  }

  /** A filter written by `toBytes`, or undefined if `bytes` are not one. */
  static fromBytes(bytes: Uint8Array): KeyFilter | undefined {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    const u32 = () => {
      const n = at + 4 <= bytes.byteLength ? view.getUint32(at, true) : undefined;
      at += 4;
      return n;
    };
    const count = u32();
    if (count === undefined || count === 0 || count > 32) return undefined;
    const segments: Segment[] = [];
    for (let i = 0; i < count; i++) {
      const [capacity, held, words] = [u32(), u32(), u32()];
      if (capacity === undefined || held === undefined || words === undefined) return undefined;
      // A power of two of words, all of them there.
      if (words === 0 || (words & (words - 1)) !== 0 || at + words * 4 > bytes.byteLength) return undefined;
      // As `add` leaves a segment: some capacity, at least ten bits for each key of it, no more keys
      // than it. A capacity of 0 would make every add a new segment, one too large for its words a
      // next segment of any size.
      if (capacity === 0 || held > capacity || words * 32 < capacity * BITS_PER_KEY) return undefined;
      const bits = new Uint32Array(words);
      if (LITTLE_ENDIAN) {
        new Uint8Array(bits.buffer).set(bytes.subarray(at, at + words * 4));
        at += words * 4;
      } else for (let w = 0; w < words; w++) bits[w] = u32() as number;
      segments.push(new Segment(capacity, bits, held));
    }
    return at === bytes.byteLength ? new KeyFilter(0, segments) : undefined;
  }

  add(key: string): void {
    let last = this.segments[this.segments.length - 1] as Segment;
    if (last.count >= last.capacity) {
      // A bit a key more each time, so the segments' false positives add up to a bounded sum.
      last = Segment.sized(last.capacity * 2, BITS_PER_KEY + this.segments.length);
      this.segments.push(last);
    }
    const [h1, h2] = hashes(key);
    last.add(h1, h2);
  }

  /** False only for a key never added. */
  mayHave(key: string): boolean {
    const [h1, h2] = hashes(key);
    for (const segment of this.segments) if (segment.has(h1, h2)) return true;
    return false;
  }

  /** Memory held, in bytes. */
  get bytes(): number {
    return this.segments.reduce((sum, s) => sum + s.bytes, 0);
  }
}

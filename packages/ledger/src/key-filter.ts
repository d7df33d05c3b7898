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
  private readonly bits: Uint32Array;
  private readonly mask: number;
  count = 0;

  constructor(
    readonly capacity: number,
    bitsPerKey: number,
  ) {
    // A power of two of at least that many bits a key, so a probe is a mask, not a division.
    let size = 32;
    while (size < capacity * bitsPerKey) size *= 2;
    this.bits = new Uint32Array(size / 32);
    this.mask = size - 1;
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

  /** `expected`: about how many keys it will hold; it grows past that as needed. */
  constructor(expected: number) {
    this.segments = [new Segment(Math.max(MIN_CAPACITY, Math.ceil(expected)), BITS_PER_KEY)];
  }

  add(key: string): void {
    let last = this.segments[this.segments.length - 1] as Segment;
    if (last.count >= last.capacity) {
      // A bit a key more each time, so the segments' false positives add up to a bounded sum.
      last = new Segment(last.capacity * 2, BITS_PER_KEY + this.segments.length);
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

/**
 * C2SP tlog-tiles addressing: which stored subtree hashes and entries a tile
 * path means. A tile at level L, index N holds up to 256 hashes of complete
 * subtrees of height 8L: exactly the subtree hashes the store keeps at that
 * level, indices 256N onwards. So tiles are read, never computed.
 */
import { CustodyError } from './errors.js';

export const TILE_WIDTH = 256;
/** Tiles of level L hold hashes of subtrees at tree level 8L; the store keeps levels up to 63. */
export const MAX_TILE_LEVEL = 7;

export interface TileAddress {
  /** Tile level, or 'entries' for an entry bundle. */
  readonly level: number | 'entries';
  readonly index: number;
  /** The width of a partial tile (1..255); undefined for a full tile. */
  readonly width?: number;
}

const notFound = (path: string, why: string) =>
  new CustodyError('CUSTODY_NOT_FOUND', `no tile ${path}: ${why}`, 404);

/** Index N as zero-padded 3-digit path elements, all but the last prefixed x (1234067 → x001/x234/067). */
export function tileIndexPath(index: number): string {
  const groups: string[] = [];
  let n = index;
  do {
    groups.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

export function tilePath(t: TileAddress): string {
  return `tile/${t.level}/${tileIndexPath(t.index)}${t.width === undefined ? '' : `.p/${t.width}`}`;
}

/** Parses the part of a tile URL after `tile/`; refuses every non-canonical spelling. */
export function parseTilePath(rest: string): TileAddress {
  const path = `tile/${rest}`;
  const parts = rest.split('/');
  const levelText = parts.shift() ?? '';
  let level: number | 'entries';
  if (levelText === 'entries') level = 'entries';
  else if (/^(0|[1-9][0-9]?)$/.test(levelText) && Number(levelText) <= 63) level = Number(levelText);
  else throw notFound(path, 'the level must be 0..63 or entries');
  let width: number | undefined;
  if (parts.length >= 2 && (parts.at(-2) ?? '').endsWith('.p')) {
    const w = parts.pop() as string;
    if (!/^[1-9][0-9]{0,2}$/.test(w) || Number(w) > 255) throw notFound(path, 'a partial width is 1..255');
    width = Number(w);
    parts[parts.length - 1] = (parts.at(-1) as string).slice(0, -2);
  }
  if (parts.length === 0 || parts.length > 6) throw notFound(path, 'bad index');
  let index = 0;
  for (const [i, p] of parts.entries()) {
    const last = i === parts.length - 1;
    if (!(last ? /^[0-9]{3}$/ : /^x[0-9]{3}$/).test(p))
      throw notFound(path, 'index elements are 3 digits, all but the last prefixed x');
    index = index * 1000 + Number(last ? p : p.slice(1));
  }
  if (tileIndexPath(index) !== parts.join('/')) throw notFound(path, 'the index has leading zero groups');
  return { level, index, ...(width === undefined ? {} : { width }) };
}

/**
 * The range a tile covers in a tree of `size`: for hash tiles, subtree
 * indices at tree level 8L; for entry bundles, entry indices. Refuses a tile
 * the tree cannot fill yet.
 */
export function tileRange(t: TileAddress, size: number): { treeLevel: number; start: number; count: number } {
  const path = tilePath(t);
  const level = t.level === 'entries' ? 0 : t.level;
  if (level > MAX_TILE_LEVEL) throw notFound(path, 'the tree is not that tall');
  const count = t.width ?? TILE_WIDTH;
  const start = t.index * TILE_WIDTH;
  // Subtrees of 256^L leaves that the tree completes.
  const available = Math.floor(size / TILE_WIDTH ** level);
  if (start + count > available) throw notFound(path, `the tree of size ${size} does not fill it`);
  return { treeLevel: 8 * level, start, count };
}

/** Every tile (full and partial) a tree of `size` is served as, level by level. */
export function tilesOf(size: number): TileAddress[] {
  const out: TileAddress[] = [];
  for (let level = 0; level <= MAX_TILE_LEVEL; level++) {
    const hashes = Math.floor(size / TILE_WIDTH ** level);
    if (hashes === 0) break;
    const full = Math.floor(hashes / TILE_WIDTH);
    for (let index = 0; index < full; index++) out.push({ level, index });
    const width = hashes % TILE_WIDTH;
    if (width > 0) out.push({ level, index: full, width });
  }
  return out;
}

/** An entry bundle: each leaf prefixed by its length as a big-endian uint16 (c2sp.org/tlog-tiles). */
export function encodeEntryBundle(leaves: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(leaves.reduce((n, leaf) => n + 2 + leaf.length, 0));
  let at = 0;
  for (const leaf of leaves) {
    if (leaf.length > 0xffff)
      throw new RangeError(`a leaf of ${leaf.length} bytes does not fit an entry bundle`);
    out[at] = leaf.length >> 8;
    out[at + 1] = leaf.length & 0xff;
    out.set(leaf, at + 2);
    at += 2 + leaf.length;
  }
  return out;
}

/**
 * The leaves of an entry bundle that must hold exactly `count` of them; a
 * truncated bundle, a length running past the end, or bytes left over are
 * refused, so a source cannot slip a short or padded leaf to a mirror.
 */
export function parseEntryBundle(bytes: Uint8Array, count: number): Uint8Array[] {
  const fail = (why: string) => new CustodyError('CUSTODY_BAD_PROOF', `the entry bundle ${why}`, 502);
  const leaves: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (leaves.length === count) throw fail(`has bytes after its ${count} entries`);
    if (at + 2 > bytes.length) throw fail(`ends inside the length of entry ${leaves.length}`);
    const length = ((bytes[at] as number) << 8) | (bytes[at + 1] as number);
    if (at + 2 + length > bytes.length) throw fail(`ends inside entry ${leaves.length}`);
    leaves.push(bytes.subarray(at + 2, at + 2 + length));
    at += 2 + length;
  }
  if (leaves.length !== count) throw fail(`holds ${leaves.length} entries, not ${count}`);
  return leaves;
}

/**
 * Key spaces' filters of absent keys (KeySpace.filterAbsentKeys), saved in a
 * file beside LevelDB's own when a store closes, so that the next open reads
 * a few megabytes instead of scanning a million keys. Not in LevelDB itself:
 * a value of megabytes written at close is replayed from its log at the next
 * open and written out again as a table, 30–70 ms at 10^6 entries.
 *
 * The file is only ever used by the open right after the close that wrote
 * it: that open renames it aside (claimSavedFilters), durably, before the
 * store takes a write, and reads it only afterwards, beside the ledger's
 * first work, so that opening stays the same cost at any size. A file
 * claimed and never read (a crash came first) is deleted by the next open,
 * which then scans. It carries a SHA-256 of its contents; one that does not
 * check out is not used.
 *
 * Format: SHA-256 of the rest (32 bytes); the length of a JSON header (u32,
 * little-endian); the header, `[{ "name", "prefixes", "bytes" }]`; each
 * filter's bytes (KeyFilter.toBytes) in the header's order.
 */
import { createHash } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyFilter } from './key-filter.js';

/** A complete filter of a key space, as a store saves it when it closes. */
export interface SavedFilter {
  readonly prefixes: readonly string[];
  readonly keys: KeyFilter;
}

/** LevelDB leaves files whose names it does not use alone. */
const FILE = 'custody-key-filters';
/** The same, once an open has claimed it (see claimSavedFilters). */
const CLAIMED = 'custody-key-filters.claimed';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest();

/** Writes `filters` (by key space name) into `dir`, replacing what was there, durably. */
export async function saveFilters(dir: string, filters: ReadonlyMap<string, SavedFilter>): Promise<void> {
  const parts = [...filters].map(([name, f]) => ({ name, prefixes: f.prefixes, bytes: f.keys.toBytes() }));
  const header = Buffer.from(
    JSON.stringify(parts.map(({ name, prefixes, bytes }) => ({ name, prefixes, bytes: bytes.length }))),
  );
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length);
  const body = Buffer.concat([length, header, ...parts.map((p) => p.bytes)]);
  const temporary = join(dir, `${FILE}.tmp`);
  const file = await open(temporary, 'w');
  try {
    await file.writeFile(Buffer.concat([sha256(body), body]));
    // Synced before the rename: a name that survives a crash must not point at missing bytes.
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, join(dir, FILE));
}

/** Syncs a folder, so that a rename or deletion in it survives a crash. */
async function syncFolder(dir: string): Promise<void> {
  const folder = await open(dir, 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

const missing = (e: unknown) => (e as { code?: string }).code === 'ENOENT';

/**
 * At open, before any write: moves the saved filters aside, durably, and
 * returns where to read them (readClaimedFilters), or undefined if there
 * are none. A file claimed by an earlier open is deleted unread: writes
 * after that open are in no saved filter. Throws if the folder cannot be
 * changed (then neither could LevelDB's files).
 */
export async function claimSavedFilters(dir: string): Promise<string | undefined> {
  const claimed = join(dir, CLAIMED);
  await unlink(claimed).catch((e: unknown) => {
    if (!missing(e)) throw e;
  });
  try {
    await rename(join(dir, FILE), claimed);
  } catch (e) {
    if (missing(e)) return undefined;
    throw e;
  }
  await syncFolder(dir);
  return claimed;
}

/** Reads and deletes a claimed file: its filters by key space name, none if it does not check out. */
export async function readClaimedFilters(claimed: string): Promise<Map<string, SavedFilter>> {
  try {
    const bytes = await readFile(claimed);
    await unlink(claimed);
    return decode(bytes) ?? new Map();
  } catch {
    return new Map();
  }
}

/**
 * A claimed file never read, at close: put back in place if the store wrote
 * nothing since it was claimed (it still holds), deleted if it did.
 */
export async function releaseClaimedFilters(claimed: string, dir: string, written: boolean): Promise<void> {
  if (written) await unlink(claimed);
  else await rename(claimed, join(dir, FILE));
}

function decode(bytes: Buffer): Map<string, SavedFilter> | undefined {
  if (bytes.length < 36) return undefined;
  const body = bytes.subarray(32);
  if (!sha256(body).equals(bytes.subarray(0, 32))) return undefined;
  const length = body.readUInt32LE(0);
  let header: unknown;
  try {
    header = JSON.parse(body.subarray(4, 4 + length).toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(header)) return undefined;
  const filters = new Map<string, SavedFilter>();
  let at = 4 + length;
  for (const part of header as unknown[]) {
    const { name, prefixes, bytes: size } = (part ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || typeof size !== 'number' || !Array.isArray(prefixes)) return undefined;
    if (!prefixes.every((p) => typeof p === 'string')) return undefined;
    const keys = KeyFilter.fromBytes(body.subarray(at, at + size));
    if (keys === undefined) return undefined;
    filters.set(name, { prefixes, keys });
    at += size;
  }
  return at === body.length ? filters : undefined;
}

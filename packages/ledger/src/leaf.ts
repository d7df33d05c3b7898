/**
 * The bytes of a log entry (DESIGN.md "The log"): JCS of
 * { index, prev, received, event, sig }, where `prev` is the leaf hash of the
 * entry before, so the entries form a hash chain as well as a Merkle tree.
 */
import { fromUtf8, utf8 } from './bytes.js';
import { canonicalAsIs, canonicalJson, type JsonObject } from './canonical.js';
import { CustodyError } from './errors.js';

/** Tile entry bundles prefix every entry with a uint16 length (c2sp.org/tlog-tiles). */
export const MAX_LEAF_BYTES = 65_535;

/** The `prev` of entry 0. */
export const CHAIN_START = '0'.repeat(64);

export interface LeafEntry {
  readonly index: number;
  /** Hex leaf hash of entry index - 1. */
  readonly prev: string;
  /** When the node received the event (RFC 3339, UTC), the node's own claim. */
  readonly received: string;
  /** The signed event, exactly as its signer canonicalized it. */
  readonly event: JsonObject;
  /** Base64 Ed25519 signature over the event's signed message. */
  readonly sig: string;
}

/** What a caller hands the log; the log assigns index and prev. */
export interface EntryInput extends Pick<LeafEntry, 'received' | 'event' | 'sig'> {
  /** canonicalJson(event), when the caller has it already (it must be exactly that). */
  readonly eventJson?: string;
}

/**
 * The entry's RFC 8785 bytes. Its members sort as event, index, prev,
 * received, sig, so the text is built in that order around the event's own
 * canonical text, which the sequencer has from hashing the event.
 */
export function encodeLeaf(entry: LeafEntry, eventJson = canonicalJson(entry.event)): Uint8Array {
  const bytes = utf8(leafText(entry, eventJson));
  if (bytes.length > MAX_LEAF_BYTES) {
    throw new CustodyError(
      'CUSTODY_ENTRY_TOO_LARGE',
      `entry ${entry.index} would be ${bytes.length} bytes, over the ${MAX_LEAF_BYTES}-byte limit; split the event (e.g. its serial list) over several events`,
      413,
    );
  }
  return bytes;
}

function leafText(entry: LeafEntry, eventJson: string): string {
  return `{"event":${eventJson},"index":${canonicalJson(entry.index)},"prev":${canonicalJson(entry.prev)},"received":${canonicalJson(entry.received)},"sig":${canonicalJson(entry.sig)}}`;
}

const HEX64 = /^[0-9a-f]{64}$/;
const EVENT_START = '{"event":';
const EVENT_END = ',"index":';
const KEYS = ['event', 'index', 'prev', 'received', 'sig'];

/**
 * Parses leaf bytes. Only the canonical encoding is accepted, so a leaf that
 * parses is byte-for-byte what `encodeLeaf` would write for the same entry.
 */
export function decodeLeaf(bytes: Uint8Array): LeafEntry {
  return readLeaf(bytes).entry;
}

/**
 * decodeLeaf, with the event's canonical text as the leaf holds it: what an
 * audit hashes and verifies, without canonicalizing the event a second time.
 */
export function readLeaf(bytes: Uint8Array): { entry: LeafEntry; eventJson: string } {
  const fail = (why: string) => new CustodyError('CUSTODY_BAD_INPUT', `leaf is malformed: ${why}`);
  let text: string;
  let value: unknown;
  try {
    text = fromUtf8(bytes);
    value = JSON.parse(text);
  } catch (cause) {
    throw cause instanceof CustodyError ? fail(cause.message) : fail('not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw fail('not a JSON object');
  const o = value as Record<string, unknown>;
  if (Object.keys(o).sort().join() !== KEYS.join()) throw fail(`members must be exactly ${KEYS.join(', ')}`);
  if (!Number.isSafeInteger(o.index) || (o.index as number) < 0) throw fail('index is not a whole number');
  if (typeof o.prev !== 'string' || !HEX64.test(o.prev)) throw fail('prev is not a 32-byte hex hash');
  if (typeof o.received !== 'string') throw fail('received is not a string');
  if (o.event === null || typeof o.event !== 'object' || Array.isArray(o.event))
    throw fail('event is not an object');
  if (typeof o.sig !== 'string') throw fail('sig is not a string');
  const entry = o as unknown as LeafEntry;
  // Equal texts mean equal bytes: UTF-8 is one-to-one and the bytes decoded strictly.
  if (canonicalAsIs(text, entry)) {
    // The event is the first member, and `,"index":` (a quote unescaped) ends it, as nothing after it holds one.
    return { entry, eventJson: text.slice(EVENT_START.length, text.lastIndexOf(EVENT_END)) };
  }
  let eventJson: string;
  try {
    eventJson = canonicalJson(entry.event);
  } catch (cause) {
    throw fail((cause as Error).message);
  }
  if (leafText(entry, eventJson) !== text) throw fail('not in canonical (RFC 8785) form');
  return { entry, eventJson };
}

/**
 * C2SP tlog-proof: one entry's offline proof of inclusion, as text
 *   c2sp.org/tlog-proof@v1
 *   [extra <base64>]
 *   index <n>
 *   <base64 hash, leaf's sibling first>…
 *   (empty line)
 *   <checkpoint, verbatim, with cosignatures>
 */
import { fromBase64, parseUint64, toBase64 } from './bytes.js';
import { CustodyError } from './errors.js';
import { HASH_SIZE, type Hash } from './merkle.js';

export interface TlogProof {
  /** Opaque, unauthenticated extra data. */
  readonly extra?: Uint8Array;
  readonly index: bigint;
  readonly proof: readonly Hash[];
  /** The checkpoint note, verbatim. */
  readonly checkpoint: string;
}

const HEADER = 'c2sp.org/tlog-proof@v1';
/** A proof of a tree of up to 2^63 leaves has at most 63 hashes. */
const MAX_PROOF = 63;

export function formatTlogProof(p: TlogProof): string {
  const lines = [HEADER];
  if (p.extra !== undefined) lines.push(`extra ${toBase64(p.extra)}`);
  lines.push(`index ${p.index}`, ...p.proof.map(toBase64), '');
  return `${lines.join('\n')}\n${p.checkpoint}`;
}

export function parseTlogProof(text: string): TlogProof {
  const fail = (why: string) => new CustodyError('CUSTODY_BAD_BUNDLE', `tlog-proof ${why}`);
  if (typeof text !== 'string') throw fail('is not text');
  const split = text.indexOf('\n\n');
  if (split < 0) throw fail('has no empty line before its checkpoint');
  const lines = text.slice(0, split).split('\n');
  const checkpoint = text.slice(split + 2);
  if (lines.shift() !== HEADER) throw fail(`must start with ${HEADER}`);
  let extra: Uint8Array | undefined;
  if (lines[0]?.startsWith('extra ')) {
    try {
      extra = fromBase64((lines.shift() as string).slice(6));
    } catch {
      throw fail('has extra data that is not base64');
    }
  }
  const indexLine = lines.shift();
  if (indexLine === undefined || !indexLine.startsWith('index ')) throw fail('has no index line');
  let index: bigint;
  let proof: Hash[];
  try {
    index = parseUint64(indexLine.slice(6), 'index');
    proof = lines.map((l) => fromBase64(l, HASH_SIZE, 'proof hash'));
  } catch (e) {
    throw fail((e as Error).message);
  }
  if (proof.length > MAX_PROOF) throw fail(`has more than ${MAX_PROOF} hashes`);
  return { ...(extra === undefined ? {} : { extra }), index, proof, checkpoint };
}

/**
 * Fuzzing every parser a hostile party can feed: events, signed notes,
 * checkpoints, tlog-proofs, tile paths, entry bundles, leaves, evidence
 * bundles, receipts and the byte encodings under them. Two properties:
 * a parser fails only with a CustodyError (never a TypeError, RangeError or
 * a hang), and a verifier never accepts an input that was changed.
 */
import { fc, test as prop } from '@fast-check/vitest';
import { beforeAll, describe, expect } from 'vitest';
import { parseBundle, verifyBundle } from '../src/bundle.js';
import { fromBase64, fromHex, parseUint64 } from '../src/bytes.js';
import { openCheckpoint, parseCheckpoint } from '../src/checkpoint.js';
import { CustodyError } from '../src/errors.js';
import { parseEvent } from '../src/events/parse.js';
import { type SignedEvent, signedMessage, verifyEvent } from '../src/events/sign.js';
import { decodeLeaf } from '../src/leaf.js';
import { hashLeaf, rootOf, verifyInclusion } from '../src/merkle.js';
import { ed25519Signer, ed25519Verifier, openNote, parseNote, parseVkey, signNote } from '../src/note.js';
import { type Receipt, verifyReceipt } from '../src/receipt.js';
import { parsePublicKey } from '../src/signature.js';
import { parseEntryBundle, parseTilePath } from '../src/tiles.js';
import { formatTlogProof, parseTlogProof } from '../src/tlog-proof.js';
import { castOf, transfer, World } from './world.js';

let world: World;
let signed: SignedEvent;
let receipt: Receipt;
let tlogProof: string;
let entryBundle: Uint8Array;
let bundleText: string;

beforeAll(async () => {
  world = await World.create();
  await castOf(world);
  await transfer(world, { items: ['SN-0001', 'SN-0002'] });
  signed = world.sign('ACME', 'item.report', { serials: ['SN-0001'] }, { kind: 'lost', reference: 'fuzz' });
  receipt = await world.send(signed);
  const bundle = await world.ledger.bundle({ serial: 'SN-0001' });
  bundleText = JSON.stringify(bundle);
  tlogProof = bundle.entries.at(-1)?.proof as string;
  entryBundle = await world.ledger.tile({ level: 'entries', index: 0, width: world.ledger.size });
}, 60_000);

/** Runs `f`; a CustodyError counts as a clean refusal, anything else thrown fails the test. */
function refusesCleanly<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof CustodyError))
      throw new Error(`threw a non-Custody error: ${String(e)}`, { cause: e });
    return undefined;
  }
}

/** The text with the byte at `at` (mod length) changed by `delta` (1..255). */
function mutate(text: string | Uint8Array, at: number, delta: number): Buffer {
  const bytes = Buffer.from(text);
  const i = at % bytes.length;
  bytes[i] = ((bytes[i] as number) + delta) & 0xff;
  return bytes;
}

const noteSigner = ed25519Signer('fuzz.test/log', new Uint8Array(32).fill(7));
const byteChange = [fc.nat(), fc.integer({ min: 1, max: 255 })] as const;
/** Text that is mostly printable, with the characters the formats split on well represented. */
const lineText = fc.string({
  unit: fc.oneof(
    fc.constantFrom('\n', ' ', '—', '+', '/', '=', '\u2014'),
    fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 400,
});

describe('parsers refuse anything with a CustodyError, and only that', () => {
  prop.prop([fc.anything({ withNullPrototype: true, withObjectString: true, maxDepth: 4 })], {
    numRuns: 500,
  })('parseEvent and parseBundle on any value', (value) => {
    refusesCleanly(() => parseEvent(value));
    refusesCleanly(() => parseBundle(value));
  });

  prop.prop([fc.jsonValue({ maxDepth: 3 }), fc.nat()], { numRuns: 500 })(
    'parseEvent on a valid event with one member replaced by any JSON value',
    (value, pick) => {
      const event = structuredClone(signed.event) as unknown as Record<string, Record<string, unknown>>;
      const paths: [string, string?][] = [
        ['type'],
        ['id'],
        ['time'],
        ['prev'],
        ['subject'],
        ['body'],
        ['subject', 'serials'],
        ['body', 'kind'],
        ['body', 'reference'],
        ['body', '__proto__'],
        ['constructor'],
      ];
      const [outer, inner] = paths[pick % paths.length] as [string, string?];
      if (inner === undefined) event[outer] = value as Record<string, unknown>;
      else Object.defineProperty(event[outer], inner, { value, enumerable: true });
      const parsed = refusesCleanly(() => parseEvent(event));
      if (parsed !== undefined) expect(refusesCleanly(() => signedMessage(parsed))).toBeDefined();
    },
  );

  prop.prop([lineText], { numRuns: 1000 })(
    'notes, checkpoints, tlog-proofs, keys and tile paths on any text',
    (text) => {
      const verifier = ed25519Verifier(world.ledger.logVkey);
      refusesCleanly(() => parseNote(text));
      refusesCleanly(() => openNote(text, [verifier]));
      refusesCleanly(() => parseCheckpoint(text));
      refusesCleanly(() => openCheckpoint(text, verifier));
      refusesCleanly(() => parseTlogProof(text));
      refusesCleanly(() => parseTlogProof(`c2sp.org/tlog-proof@v1\n${text}`));
      refusesCleanly(() => parseVkey(text));
      refusesCleanly(() => parseTilePath(text));
      refusesCleanly(() => fromBase64(text));
      refusesCleanly(() => fromHex(text));
      refusesCleanly(() => parseUint64(text));
      refusesCleanly(() => parseBundle(text));
    },
  );

  prop.prop([fc.uint8Array({ maxLength: 600 }), fc.nat({ max: 300 })], { numRuns: 1000 })(
    'leaves and entry bundles on any bytes',
    (bytes, count) => {
      refusesCleanly(() => decodeLeaf(bytes));
      refusesCleanly(() => parsePublicKey(bytes.subarray(0, 32)));
      const leaves = refusesCleanly(() => parseEntryBundle(bytes, count));
      if (leaves !== undefined) expect(leaves).toHaveLength(count);
    },
  );

  prop.prop(
    [
      fc.record({
        index: fc.oneof(fc.integer(), fc.double(), fc.constant(-0)),
        leafHash: fc.oneof(
          fc.string(),
          fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')),
        ),
        eventHash: fc.string(),
        checkpoint: lineText,
        inclusionProof: fc.array(fc.oneof(fc.string(), fc.base64String({ maxLength: 44 }))),
      }),
    ],
    { numRuns: 300 },
  )('verifyReceipt on any receipt never throws and never accepts', (r) => {
    expect(verifyReceipt(r, world.ledger.logVkey)).toBe(false);
  });

  prop.prop([lineText], { numRuns: 100 })(
    'verifyBundle on any text says invalid, and does not throw',
    async (text) => {
      const result = await verifyBundle(text, world.ledger.logVkey, { now: world.now });
      expect(result.verdict).toBe('invalid');
    },
  );
});

describe('verifiers never accept a changed input', () => {
  prop.prop([...byteChange], { numRuns: 500 })(
    'a signed event with one byte changed fails to parse or to verify, unless it means the same',
    (at, delta) => {
      const text = JSON.stringify(signed.event);
      const mutant = mutate(text, at, delta).toString('utf8');
      let value: unknown;
      try {
        value = JSON.parse(mutant);
      } catch {
        return;
      }
      const event = refusesCleanly(() => parseEvent(value));
      if (event === undefined) return;
      const key = parsePublicKey(world.keys.get('ACME')?.publicKey ?? new Uint8Array(0));
      if (key === undefined) throw new Error('no key');
      if (!verifyEvent(event, signed.sig, key)) return;
      expect(Buffer.from(signedMessage(event))).toEqual(Buffer.from(signedMessage(signed.event)));
    },
  );

  prop.prop([...byteChange], { numRuns: 500 })(
    'a signed note with one byte changed is refused',
    (at, delta) => {
      const note = signNote('fuzz.test/log\nsome text\n', [noteSigner]);
      const mutant = mutate(note, at, delta).toString('utf8');
      expect(refusesCleanly(() => openNote(mutant, [ed25519Verifier(noteSigner.vkey)]))).toBeUndefined();
    },
  );

  prop.prop([...byteChange], { numRuns: 500 })(
    'a tlog-proof with one byte changed is refused, or proves exactly the same entry',
    (at, delta) => {
      const leaf = fromBase64(bundleEntryLeaf());
      const mutant = mutate(tlogProof, at, delta).toString('utf8');
      const proof = refusesCleanly(() => parseTlogProof(mutant));
      if (proof === undefined) return;
      const opened = refusesCleanly(() =>
        openCheckpoint(proof.checkpoint, ed25519Verifier(world.ledger.logVkey)),
      );
      if (opened === undefined) return;
      const { size, root } = opened.checkpoint;
      if (!verifyInclusion(proof.index, size, hashLeaf(leaf), [...proof.proof], root)) return;
      const original = parseTlogProof(tlogProof);
      expect(formatTlogProof({ ...proof, checkpoint: original.checkpoint })).toBe(
        formatTlogProof({ ...original, ...(proof.extra === undefined ? {} : { extra: proof.extra }) }),
      );
    },
  );

  prop.prop([...byteChange], { numRuns: 500 })(
    'an entry bundle with one byte changed is refused, or no longer hashes to the signed root',
    (at, delta) => {
      const leaves = refusesCleanly(() =>
        parseEntryBundle(mutate(entryBundle, at, delta), world.ledger.size),
      );
      if (leaves === undefined) return;
      const root = parseCheckpoint(
        world.ledger.checkpoint.slice(0, world.ledger.checkpoint.indexOf('\n\n') + 1),
      ).root;
      expect(Buffer.from(rootOf(leaves.map(hashLeaf)))).not.toEqual(Buffer.from(root));
    },
  );

  prop.prop([fc.constantFrom('index', 'leafHash', 'checkpoint', 'inclusionProof'), ...byteChange], {
    numRuns: 400,
  })('a receipt with one byte changed in what it proves does not verify', (field, at, delta) => {
    expect(verifyReceipt(receipt, world.ledger.logVkey)).toBe(true);
    const changed: Record<string, unknown> = { ...receipt };
    if (field === 'index') changed.index = receipt.index + 1 + (at % 1000);
    else if (field === 'inclusionProof') {
      const proof = [...receipt.inclusionProof];
      const i = at % proof.length;
      proof[i] = Buffer.from(mutate(fromBase64(proof[i] as string), delta, 1 + (at % 255))).toString(
        'base64',
      );
      changed.inclusionProof = proof;
    } else changed[field] = mutate(receipt[field], at, delta).toString('utf8');
    expect(verifyReceipt(changed as unknown as Receipt, world.ledger.logVkey)).toBe(false);
  });
});

function bundleEntryLeaf(): string {
  const bundle = JSON.parse(bundleText) as { entries: { leaf: string; proof: string }[] };
  return bundle.entries.at(-1)?.leaf as string;
}

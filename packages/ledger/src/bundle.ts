/**
 * Evidence bundles: everything an investigator needs to check a subject's
 * history offline, trusting only the log's key. A bundle holds the entries of
 * the subject's history (see history.ts `gather`), each with its C2SP
 * tlog-proof against one signed checkpoint.
 *
 * Verification recomputes, never trusts: every leaf hashed and proven into
 * the checkpoint, the checkpoint's signature (and witnesses), every event
 * signature with the key its signer had at that entry, every `prev` chain
 * (which exposes an entry left out of the middle), the history gathered
 * again from the bundle's own entries (which exposes an entry slipped in),
 * and every flag judged again.
 */
import { fromBase64, toBase64, toHex } from './bytes.js';
import { type OpenCheckpointOptions, openCheckpoint, type VerifiedCheckpoint } from './checkpoint.js';
import { CustodyError } from './errors.js';
import { parseEvent } from './events/parse.js';
import type { CustodyEvent, LoggedEvent } from './events/schema.js';
import { eventHash } from './events/sign.js';
import {
  type Assessment,
  assess,
  gather,
  lookupIn,
  type Subject,
  subjectKey,
  verifyEvents,
} from './history.js';
import { decodeLeaf } from './leaf.js';
import { hashLeaf, verifyInclusion } from './merkle.js';
import { ed25519Verifier, type NoteVerifier } from './note.js';
import { formatTlogProof, parseTlogProof } from './tlog-proof.js';

export const BUNDLE_FORMAT = 'custody/bundle/v1';

export interface BundleEntry {
  /** Base64 of the exact leaf bytes. */
  readonly leaf: string;
  /** The entry's C2SP tlog-proof. */
  readonly proof: string;
}

export interface Bundle {
  readonly format: typeof BUNDLE_FORMAT;
  readonly subject: Subject;
  /** The log's vkey as the node states it: informational, never trusted. */
  readonly log: string;
  /** The signed (and cosigned) checkpoint every proof leads to. */
  readonly checkpoint: string;
  readonly entries: readonly BundleEntry[];
}

/** Assembles a bundle from gathered entries and their proofs (the ledger supplies both). */
export function makeBundle(
  subject: Subject,
  log: string,
  checkpoint: string,
  entries: readonly { index: number; leaf: Uint8Array; proof: readonly Uint8Array[] }[],
): Bundle {
  return {
    format: BUNDLE_FORMAT,
    subject,
    log,
    checkpoint,
    entries: entries.map((e) => ({
      leaf: toBase64(e.leaf),
      proof: formatTlogProof({ index: BigInt(e.index), proof: e.proof, checkpoint }),
    })),
  };
}

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface BundleVerification extends Assessment {
  readonly checks: readonly Check[];
  /** The verified checkpoint, if its signature held. */
  readonly checkpoint?: {
    readonly origin: string;
    readonly size: string;
    readonly root: string;
    readonly cosigners: readonly string[];
  };
}

export interface VerifyOptions {
  /** The verifier's "now" for time-based flags; shown in the result. */
  readonly now: Date;
  /** Witnesses to check cosignatures of, and how many must have cosigned. */
  readonly witnesses?: readonly NoteVerifier[];
  readonly quorum?: number;
  /** The origin to expect, when it is not the log key's name. */
  readonly origin?: string;
}

const SUBJECT_KINDS = ['serial', 'shipment', 'licence', 'party'];

/** Parses a bundle's JSON shape strictly; content is checked by `verifyBundle`. */
export function parseBundle(input: string | unknown): Bundle {
  const fail = (why: string) => new CustodyError('CUSTODY_BAD_BUNDLE', `bundle ${why}`);
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      throw fail('is not JSON');
    }
  }
  const b = value as Record<string, unknown>;
  if (b === null || typeof b !== 'object' || Array.isArray(b)) throw fail('is not a JSON object');
  if (Object.keys(b).sort().join() !== 'checkpoint,entries,format,log,subject') {
    throw fail('must have exactly format, subject, log, checkpoint and entries');
  }
  if (b.format !== BUNDLE_FORMAT) throw fail(`format must be ${BUNDLE_FORMAT}`);
  const subject = b.subject as Record<string, unknown>;
  const kinds = subject !== null && typeof subject === 'object' ? Object.keys(subject) : [];
  if (
    kinds.length !== 1 ||
    !SUBJECT_KINDS.includes(kinds[0] as string) ||
    typeof subject[kinds[0] as string] !== 'string'
  ) {
    throw fail('subject must be one of {serial}, {shipment}, {licence}, {party}');
  }
  if (typeof b.log !== 'string' || typeof b.checkpoint !== 'string')
    throw fail('log and checkpoint must be text');
  if (!Array.isArray(b.entries) || b.entries.length === 0 || b.entries.length > 100_000) {
    throw fail('entries must be a non-empty list');
  }
  for (const e of b.entries as unknown[]) {
    const entry = e as Record<string, unknown>;
    if (entry === null || typeof entry !== 'object' || Object.keys(entry).sort().join() !== 'leaf,proof') {
      throw fail('entries must each have exactly leaf and proof');
    }
    if (typeof entry.leaf !== 'string' || typeof entry.proof !== 'string')
      throw fail('entry leaf and proof must be text');
  }
  return b as unknown as Bundle;
}

/**
 * Verifies a bundle against the trusted log key. Never throws for anything in
 * the bundle: whatever breaks makes the verdict `invalid`, with a check that
 * says what broke.
 */
export async function verifyBundle(
  input: string | unknown,
  trustedLogKey: string,
  options: VerifyOptions,
): Promise<BundleVerification> {
  const log = ed25519Verifier(trustedLogKey); // a bad trusted key is the caller's error: it throws
  const checks: Check[] = [];
  const fail = (subject: Subject, name: string, detail: string): BundleVerification => ({
    subject,
    now: options.now.toISOString(),
    timeline: [],
    flags: [],
    problems: [`${name}: ${detail}`],
    verdict: 'invalid',
    checks: [...checks, { name, ok: false, detail }],
  });

  let bundle: Bundle;
  try {
    bundle = parseBundle(input);
  } catch (e) {
    return fail({ serial: '?' }, 'bundle format', (e as Error).message);
  }
  checks.push({
    name: 'bundle format',
    ok: true,
    detail: `${bundle.entries.length} entries about ${subjectKey(bundle.subject)}`,
  });

  let verified: VerifiedCheckpoint;
  try {
    const opts: OpenCheckpointOptions = {
      ...(options.origin === undefined ? {} : { origin: options.origin }),
      witnesses: options.witnesses ?? [],
    };
    verified = openCheckpoint(bundle.checkpoint, log, opts);
  } catch (e) {
    return fail(bundle.subject, 'checkpoint signature', (e as Error).message);
  }
  const { checkpoint } = verified;
  checks.push({
    name: 'checkpoint signature',
    ok: true,
    detail: `signed by ${log.name}, tree size ${checkpoint.size}`,
  });
  const quorum = options.quorum ?? 0;
  if (verified.cosignatures.length < quorum) {
    return fail(
      bundle.subject,
      'witness quorum',
      `${verified.cosignatures.length} valid witness cosignature(s), ${quorum} required`,
    );
  }
  if (quorum > 0)
    checks.push({
      name: 'witness quorum',
      ok: true,
      detail: `${verified.cosignatures.length} valid witness cosignature(s), ${quorum} required`,
    });

  const events: LoggedEvent[] = [];
  const seen = new Set<number>();
  for (const [i, e] of bundle.entries.entries()) {
    let proof: ReturnType<typeof parseTlogProof>;
    let leaf: Uint8Array;
    try {
      proof = parseTlogProof(e.proof);
      leaf = fromBase64(e.leaf, undefined, `entry ${i} leaf`);
    } catch (err) {
      return fail(bundle.subject, 'inclusion proofs', `entry ${i}: ${(err as Error).message}`);
    }
    if (proof.checkpoint !== bundle.checkpoint) {
      return fail(
        bundle.subject,
        'inclusion proofs',
        `entry ${i}: its proof leads to another checkpoint than the bundle's`,
      );
    }
    if (!verifyInclusion(proof.index, checkpoint.size, hashLeaf(leaf), proof.proof, checkpoint.root)) {
      return fail(
        bundle.subject,
        'inclusion proofs',
        `entry ${proof.index}: its leaf is not in the signed tree (changed leaf or proof)`,
      );
    }
    let logged: LoggedEvent;
    try {
      const entry = decodeLeaf(leaf);
      if (BigInt(entry.index) !== proof.index) throw new Error(`the leaf says it is entry ${entry.index}`);
      const event: CustodyEvent = parseEvent(entry.event);
      logged = {
        index: entry.index,
        received: entry.received,
        event,
        sig: entry.sig,
        hash: eventHash(event),
      };
    } catch (err) {
      return fail(bundle.subject, 'entry encoding', `entry ${proof.index}: ${(err as Error).message}`);
    }
    if (seen.has(logged.index))
      return fail(bundle.subject, 'entry encoding', `entry ${logged.index} appears twice`);
    seen.add(logged.index);
    events.push(logged);
  }
  events.sort((a, b) => a.index - b.index);
  checks.push({
    name: 'inclusion proofs',
    ok: true,
    detail: `${events.length} entries proven into the checkpoint (RFC 9162)`,
  });

  const genesis = events[0];
  if (genesis?.index !== 0 || genesis.event.type !== 'ledger.genesis') {
    return fail(bundle.subject, 'genesis', 'the bundle lacks the genesis entry (policy and registrar keys)');
  }
  // Chains before completeness: an entry left out of a chain's middle is named as such.
  const problems = verifyEvents(events);
  if (problems.length > 0) return fail(bundle.subject, 'signatures and chains', problems.join('; '));
  checks.push({
    name: 'signatures and chains',
    ok: true,
    detail: `${events.length} event signatures verify; every prev chain is unbroken`,
  });

  const gathered = await gather(bundle.subject, lookupIn(events), genesis);
  const unrelated = events.filter((e) => !gathered.some((g) => g.index === e.index));
  if (unrelated.length > 0 || !gathered.some((g) => g.index !== 0)) {
    const detail =
      unrelated.length > 0
        ? `entries ${unrelated.map((e) => e.index).join(', ')} do not belong to the history of ${subjectKey(bundle.subject)}`
        : `nothing in the bundle is about ${subjectKey(bundle.subject)}`;
    return fail(bundle.subject, 'completeness', detail);
  }
  checks.push({
    name: 'completeness',
    ok: true,
    detail: `the entries are exactly the history of ${subjectKey(bundle.subject)}`,
  });

  const assessment = assess(bundle.subject, events, options.now, problems);
  return {
    ...assessment,
    checks,
    checkpoint: {
      origin: checkpoint.origin,
      size: checkpoint.size.toString(),
      root: toHex(checkpoint.root),
      cosigners: verified.cosignatures.map((c) => c.name),
    },
  };
}

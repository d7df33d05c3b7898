/**
 * Admission of one signed event into the next group (DESIGN.md principle 1):
 * refuse only what cannot be authenticated or interpreted, with a stable code
 * and nothing written; accept everything authentic, anomalies included, for
 * the rules to flag. Checks run in an order that tells an unauthenticated
 * sender nothing about the log beyond "bad signature".
 */
import { CustodyError, short } from './errors.js';
import { parseEvent } from './events/parse.js';
import type { CustodyEvent, Policy } from './events/schema.js';
import { digestEvent, type EventDigest, verifyMessage } from './events/sign.js';
import { chainOf, MAY_SIGN } from './events/vocabulary.js';
import type { CustodyState, EventRef } from './indexes.js';
import { applyPartyEvent, type Party, partyPublicKey } from './registry.js';
import type { PublicKey } from './signature.js';

export interface Admitted {
  readonly event: CustodyEvent;
  readonly sig: string;
  readonly hash: string;
  /** The event's canonical text, for the leaf (see encodeLeaf). */
  readonly json: string;
}

export type Admission =
  | { readonly kind: 'new'; readonly admitted: Admitted }
  | { readonly kind: 'duplicate'; readonly ref: EventRef };

export interface AdmissionContext {
  /** The index the event would get. */
  readonly index: number;
  readonly origin: string;
  /** The genesis policy, once there is a genesis. */
  readonly policy: Policy | undefined;
  readonly now: Date;
  /**
   * Checks the event's signature; by default here and now. A caller that
   * takes a group whole or not at all (a mirror) may start the check and
   * answer true, and refuse the group if the check later fails (badSignature).
   */
  readonly verify?: (message: Uint8Array, sig: string, key: PublicKey) => boolean;
}

/**
 * A submission read, its event parsed and digested: what admission works on.
 * Ledger.precheck makes these ahead of sequencing, so the sequencer neither
 * parses nor hashes again. Only this module constructs one (JSON input
 * cannot), so `verifiedWith` is always the library's own finding.
 */
export class Submission {
  private constructor(
    readonly event: CustodyEvent,
    readonly sig: string,
    readonly digest: EventDigest,
    /**
     * The vkey the signature was already verified with; it counts only if it
     * is exactly the key the signer has when the event is sequenced.
     */
    readonly verifiedWith?: string,
  ) {}

  /** Reads `{ event, sig }` strictly; refuses with the code that says what is wrong. */
  static read(input: unknown): Submission {
    if (input instanceof Submission) return input;
    const { event, sig } = readSubmission(input);
    const parsed = parseEvent(event);
    return new Submission(parsed, sig, digestEvent(parsed));
  }

  /** The same submission, its signature found valid under `vkey`. */
  verified(vkey: string): Submission {
    return new Submission(this.event, this.sig, this.digest, vkey);
  }
}

const refuse = (code: CustodyError['code'], status: number, message: string) =>
  new CustodyError(code, message, status);

/** The refusal of an event whose signature does not verify under its signer's key. */
export function badSignature(event: Pick<CustodyEvent, 'signer' | 'key'>): CustodyError {
  return refuse(
    'CUSTODY_BAD_SIGNATURE',
    401,
    `the signature does not verify with ${event.signer}'s key ${event.key}; sign the event exactly as sent`,
  );
}

function readSubmission(input: unknown): { event: unknown; sig: string } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw refuse('CUSTODY_SCHEMA', 400, 'a submission must be a JSON object { event, sig }');
  }
  // Checked without sorting a copy of the keys: every submission comes through here.
  const keys = Object.keys(input);
  const [a, b] = keys;
  if (keys.length !== 2 || !((a === 'event' && b === 'sig') || (a === 'sig' && b === 'event'))) {
    const found = keys.sort().join();
    throw refuse('CUSTODY_SCHEMA', 400, `a submission has exactly the members event and sig, not ${found}`);
  }
  const { event, sig } = input as { event: unknown; sig: unknown };
  if (typeof sig !== 'string') throw refuse('CUSTODY_SCHEMA', 400, 'sig must be a base64 string');
  return { event, sig };
}

/** Decides one submission against the state as the group has left it; records it if new. */
export async function admit(input: unknown, state: CustodyState, ctx: AdmissionContext): Promise<Admission> {
  const submission = Submission.read(input);
  const { event } = submission;
  const { hash } = submission.digest;

  if (ctx.index === 0 && event.type !== 'ledger.genesis') {
    throw refuse('CUSTODY_NO_GENESIS', 422, 'this ledger is empty: its first event must be ledger.genesis');
  }
  if (event.type === 'ledger.genesis') {
    if (ctx.index !== 0) throw refuse('CUSTODY_GENESIS_EXISTS', 409, 'this ledger already has its genesis');
    if (event.body.origin !== ctx.origin) {
      throw refuse(
        'CUSTODY_SCHEMA',
        400,
        `genesis names origin ${event.body.origin}, but this log is ${ctx.origin}`,
      );
    }
  }

  // Who signed: genesis introduces its own signer; everyone else must be registered.
  const signer: Party | undefined =
    event.type === 'ledger.genesis' ? applyPartyEvent(undefined, event, 0) : await state.party(event.signer);
  if (signer === undefined || signer.id !== event.signer) {
    throw refuse(
      'CUSTODY_UNKNOWN_SIGNER',
      403,
      `${event.signer} is not a registered party; ask the registrar to register it`,
    );
  }
  const key = signer.keys.find((k) => k.keyId === event.key);
  if (key === undefined) {
    throw refuse(
      'CUSTODY_UNKNOWN_KEY',
      401,
      `${event.signer} has no key ${event.key}; sign with a registered key`,
    );
  }
  if (
    submission.verifiedWith !== key.vkey &&
    !(ctx.verify ?? verifyMessage)(
      submission.digest.message,
      submission.sig,
      partyPublicKey(signer.id, key.vkey).key,
    )
  ) {
    throw badSignature(event);
  }

  // Authentic from here on. A retry of the same event gets its receipt back.
  const earlier = await state.bySignerId(event.signer, event.id);
  if (earlier !== undefined) {
    if (earlier.hash === hash) return { kind: 'duplicate', ref: earlier };
    throw refuse(
      'CUSTODY_REPLAY',
      409,
      `${event.signer} already used event id ${event.id} for another event (entry ${earlier.index}); use a new id`,
    );
  }
  if (key.revoked !== undefined) {
    throw refuse(
      'CUSTODY_REVOKED_KEY',
      403,
      `key ${key.keyId} of ${event.signer} was revoked at entry ${key.revoked}; sign with a current key`,
    );
  }
  if (key.retired !== undefined) {
    throw refuse(
      'CUSTODY_UNKNOWN_KEY',
      401,
      `key ${key.keyId} of ${event.signer} was retired at entry ${key.retired}; sign with a current key`,
    );
  }

  await checkRole(event, signer, state);
  const party = await checkSubject(event, state, ctx.index);
  await checkPrev(event, state);

  const maxFuture = (ctx.policy?.maxFutureSeconds ?? 300) * 1000;
  if (Date.parse(event.time) > ctx.now.getTime() + maxFuture) {
    throw refuse(
      'CUSTODY_FUTURE_TIME',
      422,
      `event time ${event.time} is more than ${maxFuture / 1000} s ahead of the node's clock (${ctx.now.toISOString()}); check the signer's clock`,
    );
  }

  state.record(event, hash, ctx.index, chainOf(event), party);
  return { kind: 'new', admitted: { event, sig: submission.sig, hash, json: submission.digest.json } };
}

async function checkRole(event: CustodyEvent, signer: Party, state: CustodyState): Promise<void> {
  const allowed = MAY_SIGN[event.type];
  const selfRevocation = event.type === 'party.revoke-key' && event.subject.party === signer.id;
  if (!selfRevocation && !signer.roles.some((r) => allowed.includes(r))) {
    throw refuse(
      'CUSTODY_ROLE_NOT_ALLOWED',
      403,
      `${signer.id} (${signer.roles.join(', ')}) may not sign ${event.type}; it takes ${allowed.join(' or ')}`,
    );
  }
  if (event.type === 'event.correct') {
    const target = await state.byHash(event.subject.event);
    if (target === undefined) {
      throw refuse(
        'CUSTODY_UNKNOWN_SUBJECT',
        422,
        `there is no event ${short(event.subject.event)} to correct`,
      );
    }
    if (target.signer !== signer.id) {
      throw refuse(
        'CUSTODY_NOT_ORIGINAL_SIGNER',
        403,
        `only ${target.signer}, who signed event ${short(event.subject.event)}, may correct it`,
      );
    }
  }
}

/** Existence checks of the subject; returns the party the event leaves, for party events. */
async function checkSubject(
  event: CustodyEvent,
  state: CustodyState,
  index: number,
): Promise<Party | undefined> {
  switch (event.type) {
    case 'ledger.genesis':
      return applyPartyEvent(undefined, event, index);
    case 'party.register': {
      if ((await state.party(event.subject.party)) !== undefined) {
        throw refuse(
          'CUSTODY_SUBJECT_EXISTS',
          409,
          `party ${event.subject.party} is already registered; use party.update`,
        );
      }
      return applyPartyEvent(undefined, event, index);
    }
    case 'party.update':
    case 'party.revoke-key': {
      const current = await state.party(event.subject.party);
      if (current === undefined) {
        throw refuse('CUSTODY_UNKNOWN_SUBJECT', 422, `party ${event.subject.party} is not registered`);
      }
      if (event.type === 'party.revoke-key' && !current.keys.some((k) => k.keyId === event.body.key)) {
        throw refuse('CUSTODY_UNKNOWN_KEY', 422, `${current.id} has no key ${event.body.key} to revoke`);
      }
      return applyPartyEvent(current, event, index);
    }
    case 'licence.issue':
      if ((await state.issuer(event.subject.licence)) !== undefined) {
        throw refuse(
          'CUSTODY_SUBJECT_EXISTS',
          409,
          `licence ${event.subject.licence} was already issued; amend it instead`,
        );
      }
      return undefined;
    case 'licence.amend':
    case 'licence.suspend':
    case 'licence.revoke': {
      const issuer = await state.issuer(event.subject.licence);
      if (issuer === undefined)
        throw refuse('CUSTODY_UNKNOWN_SUBJECT', 422, `licence ${event.subject.licence} was never issued`);
      if (issuer !== event.signer) {
        throw refuse(
          'CUSTODY_NOT_ISSUER',
          403,
          `licence ${event.subject.licence} was issued by ${issuer}; only it may ${event.type.slice(8)} it`,
        );
      }
      return undefined;
    }
    case 'shipment.dispatch':
      if ((await state.head(`shipment:${event.subject.shipment}`)) !== undefined) {
        throw refuse(
          'CUSTODY_SUBJECT_EXISTS',
          409,
          `shipment ${event.subject.shipment} was already dispatched; use a new shipment id`,
        );
      }
      return undefined;
    case 'shipment.transit':
    case 'shipment.deliver':
    case 'delivery.verify':
      if ((await state.head(`shipment:${event.subject.shipment}`)) === undefined) {
        throw refuse(
          'CUSTODY_UNKNOWN_SUBJECT',
          422,
          `shipment ${event.subject.shipment} was never dispatched`,
        );
      }
      return undefined;
    default:
      return undefined;
  }
}

/** `prev` must be the chain's head: a compare-and-swap that makes each subject's history a chain. */
async function checkPrev(event: CustodyEvent, state: CustodyState): Promise<void> {
  const chain = chainOf(event);
  if (chain === undefined) {
    if (event.prev !== null)
      throw refuse('CUSTODY_SCHEMA', 400, `${event.type} starts no chain: prev must be null`);
    return;
  }
  const head = (await state.head(chain)) ?? null;
  if (event.prev !== head) {
    const now = head === null ? 'it has no events yet (prev must be null)' : `its head is ${short(head)}`;
    throw refuse(
      'CUSTODY_STALE_PREV',
      409,
      `prev ${event.prev === null ? 'null' : short(event.prev)} is not the head of ${chain}: ${now}; fetch it and sign again`,
    );
  }
}

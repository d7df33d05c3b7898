/**
 * Parties and their keys, derived from the log: genesis registers the
 * registrar; party.register / party.update / party.revoke-key change it. The
 * same pure reducer serves the sequencer (which persists its result) and
 * offline verification (which rebuilds it from a bundle's entries).
 */
import { CustodyError } from './errors.js';
import type { CustodyEvent, Role } from './events/schema.js';
import { keyIdHex, parseVkey, SIG_ED25519 } from './note.js';
import { type PublicKey, parsePublicKey } from './signature.js';

export interface PartyKey {
  readonly keyId: string;
  readonly vkey: string;
  /** Index of the entry that added it. */
  readonly added: number;
  /** Index of the update that dropped it: it signs nothing from then on, its old signatures stand. */
  readonly retired?: number;
  /** Index of the revocation. */
  readonly revoked?: number;
  /** When the holder says the key was compromised: signatures received since are suspect. */
  readonly compromisedSince?: string;
}

export interface Party {
  readonly id: string;
  readonly name: string;
  readonly roles: readonly Role[];
  readonly country: string;
  readonly keys: readonly PartyKey[];
  readonly registered: number;
}

/** Checked keys by "party vkey": the torsion check costs about a millisecond, so each key pays it once. */
const checkedKeys = new Map<string, { keyId: string; key: PublicKey }>();
const MAX_CHECKED_KEYS = 10_000;

/** Parses and checks a party's key: an Ed25519 vkey named for the party, with a sound public key. */
export function partyPublicKey(partyId: string, vkey: string): { keyId: string; key: PublicKey } {
  const cacheKey = `${partyId} ${vkey}`;
  const cached = checkedKeys.get(cacheKey);
  if (cached !== undefined) return cached;
  const checked = checkPartyKey(partyId, vkey);
  if (checkedKeys.size >= MAX_CHECKED_KEYS) checkedKeys.clear();
  checkedKeys.set(cacheKey, checked);
  return checked;
}

function checkPartyKey(partyId: string, vkey: string): { keyId: string; key: PublicKey } {
  let parsed: ReturnType<typeof parseVkey>;
  try {
    parsed = parseVkey(vkey);
  } catch (e) {
    throw new CustodyError('CUSTODY_BAD_KEY', `key ${vkey} of ${partyId}: ${(e as Error).message}`);
  }
  if (parsed.name !== partyId || parsed.type !== SIG_ED25519) {
    throw new CustodyError('CUSTODY_BAD_KEY', `key ${vkey} must be an Ed25519 (0x01) vkey named ${partyId}`);
  }
  const key = parsePublicKey(parsed.publicKey);
  if (key === undefined) {
    throw new CustodyError('CUSTODY_BAD_KEY', `key ${vkey} of ${partyId} is not a sound Ed25519 public key`);
  }
  return { keyId: keyIdHex(parsed.keyId), key };
}

function keysFrom(
  partyId: string,
  vkeys: readonly string[],
  index: number,
  old: readonly PartyKey[],
): PartyKey[] {
  const kept = new Map(old.map((k) => [k.keyId, k]));
  const out: PartyKey[] = [];
  for (const vkey of vkeys) {
    const { keyId } = partyPublicKey(partyId, vkey);
    if (out.some((k) => k.keyId === keyId)) {
      throw new CustodyError('CUSTODY_BAD_KEY', `${partyId} lists key ${keyId} twice`);
    }
    const previous = kept.get(keyId);
    out.push(
      previous?.vkey === vkey && previous.retired === undefined ? previous : { keyId, vkey, added: index },
    );
  }
  // Keys an update drops are kept, retired, so their earlier signatures still verify.
  for (const k of old) {
    if (!out.some((n) => n.keyId === k.keyId))
      out.push(k.retired === undefined ? { ...k, retired: index } : k);
  }
  return out;
}

/**
 * The party an event leaves behind (undefined for events that change no
 * party). Throws CUSTODY_BAD_KEY on unusable keys; existence checks belong to
 * the sequencer.
 */
export function applyPartyEvent(
  current: Party | undefined,
  event: CustodyEvent,
  index: number,
): Party | undefined {
  switch (event.type) {
    case 'ledger.genesis': {
      const r = event.body.registrar;
      return {
        id: r.id,
        name: r.name,
        roles: ['registrar'],
        country: r.country,
        keys: keysFrom(r.id, r.keys, index, []),
        registered: index,
      };
    }
    case 'party.register': {
      const b = event.body;
      const id = event.subject.party;
      return {
        id,
        name: b.name,
        roles: b.roles,
        country: b.country,
        keys: keysFrom(id, b.keys, index, []),
        registered: index,
      };
    }
    case 'party.update': {
      if (current === undefined) return undefined;
      const b = event.body;
      return {
        ...current,
        name: b.name,
        roles: b.roles,
        country: b.country,
        keys: keysFrom(current.id, b.keys, index, current.keys),
      };
    }
    case 'party.revoke-key': {
      if (current === undefined) return undefined;
      const { key, compromisedSince } = event.body;
      return {
        ...current,
        keys: current.keys.map((k) =>
          k.keyId === key && k.revoked === undefined
            ? { ...k, revoked: index, ...(compromisedSince === undefined ? {} : { compromisedSince }) }
            : k,
        ),
      };
    }
    default:
      return undefined;
  }
}

/** The party id an event changes, if it changes one. */
export function partyOf(event: CustodyEvent): string | undefined {
  if (event.type === 'ledger.genesis') return event.body.registrar.id;
  if (event.type.startsWith('party.')) return (event.subject as { party: string }).party;
  return undefined;
}

/** A key that may sign an entry at `index`: added before it, neither retired nor revoked by then. */
export function keyUsableAt(key: PartyKey, index: number): boolean {
  return (
    key.added < index &&
    (key.retired === undefined || key.retired > index) &&
    (key.revoked === undefined || key.revoked > index)
  );
}

/** An in-memory registry, rebuilt from entries in log order (for bundles and rules). */
export class Registry {
  private readonly parties = new Map<string, Party>();
  apply(event: CustodyEvent, index: number): void {
    const id = partyOf(event);
    if (id === undefined) return;
    const next = applyPartyEvent(this.parties.get(id), event, index);
    if (next !== undefined) this.parties.set(id, next);
  }

  get(id: string): Party | undefined {
    return this.parties.get(id);
  }

  /** The public key behind (party, keyId), however its state has changed since. */
  publicKey(partyId: string, keyId: string): PublicKey | undefined {
    const k = this.parties.get(partyId)?.keys.find((key) => key.keyId === keyId);
    return k === undefined ? undefined : partyPublicKey(partyId, k.vkey).key;
  }
}

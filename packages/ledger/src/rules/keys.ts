/** Rules about the keys that signed the record. */
import { type Flag, flag } from './flag.js';
import type { Model } from './model.js';

/** Events the node received after their key was compromised, by its holder's own account. */
export function keyRules(model: Model): Flag[] {
  const flags: Flag[] = [];
  for (const e of model.events) {
    const key = model.registry.get(e.event.signer)?.keys.find((k) => k.keyId === e.event.key);
    if (
      key?.compromisedSince !== undefined &&
      key.revoked !== undefined &&
      key.compromisedSince <= e.received
    ) {
      flags.push(
        flag(
          'REVOKED_KEY',
          [e.index, key.revoked],
          `${e.event.type} was signed with key ${key.keyId} of ${e.event.signer}, compromised since ${key.compromisedSince}`,
        ),
      );
    }
  }
  return flags;
}

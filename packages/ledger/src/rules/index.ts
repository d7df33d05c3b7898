/**
 * Judging a history: pure functions from (the entries about a subject, the
 * genesis policy, an explicit `now`) to flags. The same inputs give the same
 * flags on every machine; the verifier's clock enters only through `now`.
 */
import type { LoggedEvent } from '../events/schema.js';
import { custodyRules } from './custody.js';
import type { Flag } from './flag.js';
import { itemRules } from './items.js';
import { keyRules } from './keys.js';
import { licenceRules } from './licence.js';
import { buildModel, type Focus } from './model.js';
import { routeRules } from './route.js';
import { timeRules } from './time.js';

export { type Flag, type FlagCode, SEVERITY, type Severity } from './flag.js';
export type { Focus } from './model.js';

const RULES = [itemRules, licenceRules, custodyRules, routeRules, timeRules, keyRules];

/** Every flag the events raise about the focus, ordered by first entry then code, without repeats. */
export function judge(events: readonly LoggedEvent[], focus: Focus, now: Date): Flag[] {
  const model = buildModel(events, focus, now);
  const seen = new Set<string>();
  const flags: Flag[] = [];
  for (const rule of RULES) {
    for (const f of rule(model)) {
      const key = `${f.code}|${f.entries.join(',')}|${f.message}`;
      if (!seen.has(key)) {
        seen.add(key);
        flags.push(f);
      }
    }
  }
  return flags.sort((a, b) => (a.entries[0] ?? 0) - (b.entries[0] ?? 0) || a.code.localeCompare(b.code));
}

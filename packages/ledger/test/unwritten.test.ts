import { fc, test as prop } from '@fast-check/vitest';
import { expect } from 'vitest';
import { UnwrittenWrites } from '../src/indexes.js';
import type { ExtraWrite, KeySpace } from '../src/store.js';

const space = {} as KeySpace;
/** Keys admission reads (a chain's head, a signer's ids) and an index row, which it never reads. */
const KEYS = ['h\0shipment:S1', 'h\0item:X', 's\0ACME\0e1', 'i\0serial:X\x000000000000000a'];
const write = fc.record({ key: fc.constantFrom(...KEYS), value: fc.option(fc.string(), { nil: undefined }) });
const step = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), writes: fc.array(write, { maxLength: 4 }) }),
  fc.record({ kind: fc.constant('drop' as const), which: fc.nat() }),
);

/**
 * Groups are added as they are sequenced and dropped as their writes settle,
 * in any order: what admission reads is the value of the newest group still
 * unwritten that wrote the key (undefined for a delete), never an index row's.
 */
prop.prop([fc.array(step, { maxLength: 30 })])('reads the newest unwritten value of each key', (steps) => {
  const unwritten = new UnwrittenWrites();
  const model: { group: object; writes: ExtraWrite[] }[] = [];
  for (const s of steps) {
    if (s.kind === 'add') {
      const group = {};
      const writes = s.writes.map((w) => ({ space, ...w }));
      unwritten.add(group, writes);
      model.push({ group, writes });
    } else if (model.length > 0) {
      const [gone] = model.splice(s.which % model.length, 1);
      unwritten.drop(gone?.group as object);
    }
    for (const key of KEYS) {
      const last = model
        .flatMap((g) => g.writes)
        .filter((w) => w.key === key && !key.startsWith('i\0'))
        .at(-1);
      expect(unwritten.has(key)).toBe(last !== undefined);
      expect(unwritten.get(key)).toBe(last?.value);
    }
  }
});

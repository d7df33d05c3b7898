/**
 * Library ingest alone, to profile (on the built bundle): node --import tsx
 * --cpu-prof bench/profile-ingest.ts. Ten groups of about 1,000 pre-signed
 * events of the benchmark's workload, pre-checked then submitted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, type SignedEvent } from '@custody/ledger';
import { benchLedger, groupOf } from './workload.js';

const root = mkdtempSync(join(tmpdir(), 'custody-prof-'));
const dir = join(root, 'ledger');
const { ledger, work } = await benchLedger(dir, generateKeyPair('bench.custody.test/log'));
const groups: SignedEvent[][] = Array.from({ length: 10 }, () => groupOf(work, 994).events);
let precheck = 0;
let submit = 0;
let events = 0;
for (const group of groups) {
  const a = performance.now();
  const pre = await Promise.all(group.map((e) => ledger.precheck(e)));
  const b = performance.now();
  await ledger.submit(pre.map((p, i) => ('submission' in p ? p.submission : group[i])));
  submit += performance.now() - b;
  precheck += b - a;
  events += group.length;
}
const rate = events / ((precheck + submit) / 1000);
console.log(
  `${events} events: precheck ${precheck.toFixed(0)} ms, submit ${submit.toFixed(0)} ms, ${rate.toFixed(0)} events/s`,
);
await ledger.close();
rmSync(root, { recursive: true, force: true });

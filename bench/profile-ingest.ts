import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, Ledger, type SignedEvent } from '@custody/ledger';
import { FastSigner, Workload } from './workload.js';

const root = mkdtempSync(join(tmpdir(), 'custody-prof-'));
const logPair = generateKeyPair('bench.custody.test/log');
const registrarPair = generateKeyPair('REGISTRAR');
const registrar = new FastSigner(registrarPair);
const work = new Workload(registrar);
const ledger = await Ledger.create(join(root, 'ledger'), {
  origin: logPair.name,
  secretKey: logPair.secretKey,
});
await ledger.submitOne(
  registrar.sign({
    type: 'ledger.genesis',
    id: 'genesis-00001',
    time: new Date().toISOString(),
    prev: null,
    subject: {},
    body: {
      origin: logPair.name,
      registrar: { id: 'REGISTRAR', name: 'bench', country: 'CH', keys: [registrarPair.vkey] },
      policy: { deliveryDays: 30, verificationDays: 90, maxBackdateDays: 7, maxFutureSeconds: 300 },
    },
  } as never),
);
for (const r of work.registrations()) await ledger.submitOne(r);
const groups: SignedEvent[][] = [];
for (let g = 0; g < 10; g++) {
  const group: SignedEvent[] = [];
  while (group.length < 994) group.push(...work.transfer().events);
  groups.push(group);
}
const t0 = performance.now();
let pre = 0,
  sub = 0,
  n = 0;
for (const group of groups) {
  const a = performance.now();
  const p = await Promise.all(group.map((e) => ledger.precheck(e)));
  const b = performance.now();
  await ledger.submit(p.map((x, i) => ('submission' in x ? x.submission : group[i])));
  sub += performance.now() - b;
  pre += b - a;
  n += group.length;
}
console.log(
  `${n} events in ${(performance.now() - t0).toFixed(0)} ms: precheck ${pre.toFixed(0)} ms, submit ${sub.toFixed(0)} ms, ${(n / ((performance.now() - t0) / 1000)).toFixed(0)} ev/s`,
);
await ledger.close();

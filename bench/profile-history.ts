/**
 * Histories and bundles alone, to profile (on the built bundle): node
 * --import tsx --cpu-prof bench/profile-history.ts [size]. Reads the
 * fixture of that size (fixture.ts) in place, read-only: histories of 400
 * sampled serials, bundles of 400 others, then both again (warm), with p50
 * / p99 of each.
 */
import { join } from 'node:path';
import { Ledger } from '@custody/ledger';
import { fixtureDir, readFixture } from './fixture.js';

const size = Number(process.argv[2] ?? 1_000_000);
const meta = readFixture(size);
if (meta === undefined) throw new Error(`no fixture of ${size}; build it first: pnpm bench:fixture ${size}`);
const ledger = await Ledger.open(join(fixtureDir(size), 'ledger'));
const sample = (from: number) =>
  Array.from({ length: 400 }, (_, i) => meta.serials[((from + i) * 7919) % meta.serials.length] as string);
const serials = { history: sample(0), bundle: sample(400) };
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.floor((p / 100) * (xs.length - 1))];
for (const what of ['history', 'bundle', 'history', 'bundle'] as const) {
  const times: number[] = [];
  for (const serial of serials[what]) {
    const t = performance.now();
    await (what === 'history' ? ledger.history({ serial }) : ledger.bundle({ serial }));
    times.push(performance.now() - t);
  }
  console.log(`${what}: p50 ${pct(times, 50)?.toFixed(2)} ms, p99 ${pct(times, 99)?.toFixed(2)} ms`);
}
await ledger.close();

/**
 * holdHeapNearLive, measured in child processes: one that allocates as a
 * node does (a small live set, a stream of objects that live long enough to
 * be promoted) keeps a smaller heap with it; a process started with its
 * own --heap-growing-percent keeps that, and one with a heap cap is left to
 * V8's own growth.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, test } from 'vitest';
import { holdHeapNearLive, watchLiveHeap } from '../src/heap.js';

const heapModule = fileURLToPath(new URL('../src/heap.ts', import.meta.url));
const root = fileURLToPath(new URL('../../..', import.meta.url));

/** Batches of objects, each kept for three rounds: a few MB live at a time, some 800 MB allocated in all. */
const PROGRAM = `
import { holdHeapNearLive } from ${JSON.stringify(heapModule)};
const held = process.env.HOLD === '1' ? holdHeapNearLive() : false;
const live = [];
let peak = 0;
for (let round = 0; round < 300; round++) {
  const batch = [];
  for (let i = 0; i < 20000; i++) batch.push({ text: 'x'.repeat(20) + i, list: [i, i + 1, i + 2] });
  live.push(batch);
  if (live.length > 3) live.shift();
  await new Promise((resolve) => setImmediate(resolve));
  peak = Math.max(peak, process.memoryUsage().heapTotal);
}
console.log(JSON.stringify({ held, peakMb: peak / 2 ** 20 }));
`;

function run(hold: boolean, nodeFlags: readonly string[] = []): { held: boolean; peakMb: number } {
  const out = execFileSync(
    process.execPath,
    [...nodeFlags, '--import', 'tsx', '--input-type=module', '-e', PROGRAM],
    { cwd: root, env: { ...process.env, NODE_OPTIONS: '', HOLD: hold ? '1' : '0' }, encoding: 'utf8' },
  );
  return JSON.parse(out.trim().split('\n').at(-1) as string) as { held: boolean; peakMb: number };
}

test('a process holding its heap near what is live peaks well below one left to V8', () => {
  const left = run(false);
  const held = run(true);
  expect(held.held).toBe(true);
  expect(held.peakMb).toBeLessThan(0.8 * left.peakMb);
}, 60_000);

test("an operator's own --heap-growing-percent is kept", () => {
  const own = run(true, ['--heap-growing-percent=300']);
  const held = run(true);
  expect(own.held).toBe(false);
  expect(held.peakMb).toBeLessThan(0.8 * own.peakMb);
  expect(holdHeapNearLive(['--heap_growing_percent=50'], '')).toBe(false);
  expect(holdHeapNearLive(['--heap-growing-percent', '50'], '')).toBe(false);
}, 60_000);

test("an operator's cap on the heap is left to V8's own growth", () => {
  const capped = run(true, ['--max-old-space-size=512']);
  expect(capped.held).toBe(false);
  expect(holdHeapNearLive([], '--max-old-space-size=128')).toBe(false);
  expect(holdHeapNearLive([], '--trace-gc --max_old_space_size 128')).toBe(false);
  expect(holdHeapNearLive(['--max-old-space-size', '128'], '')).toBe(false);
}, 60_000);

test('watchLiveHeap reports what a full collection leaves, and follows what is kept', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const reports: number[] = [];
  const stop = watchLiveHeap((bytes) => reports.push(bytes));
  // Observers are told after the collection, on a later turn of the event loop.
  const collect = async () => {
    const before = reports.length;
    gc();
    for (let i = 0; i < 50 && reports.length === before; i++) await new Promise((r) => setTimeout(r, 2));
    return reports.at(-1) as number;
  };
  try {
    const base = await collect();
    expect(base).toBeGreaterThan(0);
    let kept: string[] | undefined = Array.from({ length: 200_000 }, (_, i) => `kept ${i} `.repeat(8));
    const holding = await collect();
    expect(holding - base).toBeGreaterThan(20 * 2 ** 20);
    expect(kept.length).toBe(200_000);
    kept = undefined;
    const released = await collect();
    expect(released - base).toBeLessThan(5 * 2 ** 20);
  } finally {
    stop();
  }
  const count = reports.length;
  gc();
  await new Promise((r) => setTimeout(r, 20));
  expect(reports.length).toBe(count);
});

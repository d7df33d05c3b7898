/**
 * The peer: hypercore 11.37.1, a signed Merkle append-only log (Holepunch),
 * fed the same payloads as the ledger (the workload's signed events as JSON
 * bytes) in the same run. It signs its own tree on append and checks nothing
 * about what it is given (no event signatures, no rules, no indexes), and it
 * does not fsync each append: an upper bound on what a log alone costs here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Hypercore from 'hypercore';

export interface PeerFigures {
  readonly appendsPerSecondBatch1: number;
  readonly appendsPerSecondBatch100: number;
  readonly readsPerSecond: number;
}

export async function hypercorePeer(payloads: readonly Uint8Array[]): Promise<PeerFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'custody-peer-'));
  const core = new Hypercore(dir);
  await core.ready();
  try {
    const single = payloads.slice(0, Math.min(5_000, payloads.length));
    let t = performance.now();
    for (const p of single) await core.append(p);
    const batch1 = single.length / ((performance.now() - t) / 1000);
    t = performance.now();
    for (let i = 0; i < payloads.length; i += 100) await core.append(payloads.slice(i, i + 100));
    const batch100 = payloads.length / ((performance.now() - t) / 1000);
    const reads = Math.min(20_000, core.length);
    t = performance.now();
    for (let i = 0; i < reads; i++) await core.get((i * 7919) % core.length);
    return {
      appendsPerSecondBatch1: batch1,
      appendsPerSecondBatch100: batch100,
      readsPerSecond: reads / ((performance.now() - t) / 1000),
    };
  } finally {
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

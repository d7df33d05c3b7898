/**
 * Crash consistency: `custody serve` as a child process under a stream of
 * submissions, killed with SIGKILL at random moments and restarted, round
 * after round on the same data folder. After every restart, and at the end:
 *   - every event that got a receipt is in the log, exactly once, at its
 *     receipt's index, and the receipt still proves it; sent again, it is
 *     answered as a duplicate with that index;
 *   - every checkpoint handed out before the crash (with a receipt, or from
 *     GET /v1/checkpoint) is consistent with the new one;
 *   - the audit (`custody audit`, every signature, the chain, every root) is clean.
 * What SIGKILL cannot show (a write left in the OS cache counts as written),
 * packages/node/test/durability.test.ts shows at the LevelDB boundary.
 */
import { join } from 'node:path';
import {
  type Checkpoint,
  ed25519Verifier,
  fromBase64,
  hashLeaf,
  Ledger,
  openCheckpoint,
  type Receipt,
  type SignedEvent,
  toHex,
  verifyConsistency,
  verifyReceipt,
} from '@custody/ledger';
import { expect, test } from 'vitest';
import { custodyJson, post, report, type Served, serveNode, setup } from './support.js';

const ROUNDS = 24;
const WRITERS = 12;

/** A small seeded generator (mulberry32), so a failing run can be replayed with CUSTODY_CRASH_SEED. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Acknowledged {
  readonly receipt: Receipt;
  readonly round: number;
  /** What was sent, to send it again after the crash. */
  readonly event: SignedEvent;
}

test(`SIGKILL at random moments, ${ROUNDS} rounds: nothing acknowledged lost or doubled, every checkpoint consistent, audit clean`, async () => {
  const seed = Number(process.env.CUSTODY_CRASH_SEED ?? Date.now() % 2 ** 31);
  const rand = random(seed);
  const { dir, node: first, acme, logKey } = await setup();
  const log = ed25519Verifier(logKey);
  const acknowledged: Acknowledged[] = [];
  /** Checkpoints handed out in the round that just crashed, by size. */
  let handedOut = new Map<bigint, Checkpoint>();
  let node: Served = first;
  const kills: number[] = [];
  let resent = 0;

  const keep = (note: string) => {
    const { checkpoint } = openCheckpoint(note, log);
    handedOut.set(checkpoint.size, checkpoint);
  };

  for (let round = 1; round <= ROUNDS; round++) {
    let running = true;
    const url = node.url;
    const writers = Array.from({ length: WRITERS }, async () => {
      while (running) {
        let r: Awaited<ReturnType<typeof post>>;
        const event = report(acme);
        try {
          r = await post(url, event);
        } catch {
          return; // the node is gone: this submission may or may not be stored, and nobody was told it was
        }
        if (r.status !== 201) throw new Error(`round ${round}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
        const receipt = r.json as unknown as Receipt;
        acknowledged.push({ receipt, round, event });
        keep(receipt.checkpoint);
      }
    });
    const poller = (async () => {
      while (running) {
        try {
          keep(await (await fetch(`${url}/v1/checkpoint`)).text());
        } catch {
          return;
        }
        await new Promise((r) => setTimeout(r, 15));
      }
    })();

    const after = 30 + Math.floor(rand() * 400);
    kills.push(after);
    await new Promise((r) => setTimeout(r, after));
    const exit = await node.stop('SIGKILL');
    running = false;
    await Promise.all([...writers, poller]);
    expect(exit.code).toBeNull(); // killed, not exited

    node = await serveNode(dir);
    const latest = openCheckpoint(await (await fetch(`${node.url}/v1/checkpoint`)).text(), log).checkpoint;
    for (const old of handedOut.values()) {
      expect(latest.size, `round ${round} (seed ${seed}): the tree shrank`).toBeGreaterThanOrEqual(old.size);
      if (old.size === latest.size) {
        expect(Buffer.from(old.root).equals(Buffer.from(latest.root))).toBe(true);
        continue;
      }
      const { proof } = (await (
        await fetch(`${node.url}/v1/proof/consistency?from=${old.size}&to=${latest.size}`)
      ).json()) as { proof: string[] };
      const ok = verifyConsistency(
        old.size,
        latest.size,
        proof.map((p) => fromBase64(p)),
        old.root,
        latest.root,
      );
      expect(
        ok,
        `round ${round} (seed ${seed}): checkpoint ${old.size} is not consistent with ${latest.size}`,
      ).toBe(true);
    }
    // Consistency is transitive: the next round only needs to reach back to this checkpoint.
    handedOut = new Map([[latest.size, latest]]);
    // The round's last acknowledged events, sent again to the restarted node
    // (whose filter of taken ids was scanned for, no file being left by a
    // kill): each is answered as a duplicate with its receipt's index.
    for (const { receipt, event } of acknowledged.filter((a) => a.round === round).slice(-3)) {
      const again = await post(node.url, event);
      expect(
        [again.status, again.json.index],
        `round ${round} (seed ${seed}): receipt ${receipt.index} sent again`,
      ).toEqual([200, receipt.index]);
      resent++;
    }
    for (const { receipt } of acknowledged.filter((a) => a.round === round)) {
      const entry = (await (
        await fetch(`${node.url}/v1/entries?start=${receipt.index}&end=${receipt.index + 1}`)
      ).json()) as { entries: { leaf: string }[] };
      const leaf = entry.entries[0]?.leaf;
      expect(
        leaf === undefined ? undefined : toHex(hashLeaf(fromBase64(leaf))),
        `round ${round} (seed ${seed}): receipt ${receipt.index} lost`,
      ).toBe(receipt.leafHash);
    }
  }
  await node.stop('SIGTERM');

  // Exactly once, at the receipt's index, still proven by the receipt.
  const ledger = await Ledger.open(join(dir, 'ledger'));
  const count = new Map<string, number>();
  const at = new Map<string, number>();
  for (const e of await ledger.events(0, ledger.size)) {
    count.set(e.hash, (count.get(e.hash) ?? 0) + 1);
    at.set(e.hash, e.index);
  }
  const lost = acknowledged.filter(({ receipt }) => at.get(receipt.eventHash) !== receipt.index);
  const doubled = acknowledged.filter(({ receipt }) => count.get(receipt.eventHash) !== 1);
  expect({ lost: lost.length, doubled: doubled.length, seed }).toEqual({ lost: 0, doubled: 0, seed });
  for (const { receipt } of acknowledged) expect(verifyReceipt(receipt, logKey)).toBe(true);
  const size = ledger.size;
  await ledger.close();

  const audit = await custodyJson<{ ok: boolean; size: number }>(['audit', '--data', dir]);
  expect({ code: audit.code, ok: audit.json.ok, size: audit.json.size }).toEqual({ code: 0, ok: true, size });
  // A run that never got an event through before its kills would prove nothing.
  expect(new Set(acknowledged.map((a) => a.round)).size).toBeGreaterThanOrEqual(ROUNDS / 2);
  console.log(
    `crash rounds: ${ROUNDS} survived (seed ${seed}); ${acknowledged.length} events acknowledged, 0 lost, 0 doubled; ` +
      `${size} entries; ${resent} sent again after a restart, each a duplicate; kills at ${kills.join(', ')} ms`,
  );
}, 300_000);

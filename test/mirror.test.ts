/**
 * A new mirror of a log longer than one part of a catch-up (4,096 entries),
 * as real processes: `custody serve --mirror`, killed with SIGKILL in the
 * middle of its catch-up, resumes from the parts it holds and ends with the
 * source's tree; restarted after the source has grown by more than a part,
 * it goes on serving the tree it held while it catches up.
 */
import { join } from 'node:path';
import { Ledger } from '@custody/ledger';
import { expect, test } from 'vitest';
import { HttpClient, postTransfers } from '../bench/http-client.js';
import { custody, report, serveNode, setup, tempDir } from './support.js';

/** Entries past two parts, so that the mirror is killed between parts and has one more to take. */
const EVENTS = 9_000;
/** What the source takes while the mirror is stopped: more than a part. */
const MORE = 5_000;

/** The mirror's /healthz: the size of the tree it serves, and the entries it holds. */
async function sizes(url: string): Promise<{ served: number; held: number }> {
  const health = (await (await fetch(`${url}/healthz`)).json()) as { size: number; mirror: { size: number } };
  return { served: health.size, held: health.mirror.size };
}

test('a new mirror killed in the middle of a long catch-up resumes from the parts it holds; later behind by more than a part, it serves the tree it held meanwhile', async () => {
  const { node: source, acme, logKey } = await setup();
  const http = new HttpClient(source.url);
  const events = Array.from({ length: EVENTS + MORE }, () => report(acme));
  const serial = (events[0]?.event.subject as { serials: string[] } | undefined)?.serials[0];
  expect(serial).toBeDefined();
  const post = (from: number, to: number) =>
    postTransfers(
      http,
      events.slice(from, to).map((e) => [JSON.stringify(e)]),
      { clients: 32 },
    );
  await post(0, EVENTS);
  const signed = await (await fetch(`${source.url}/checkpoint`)).text();
  const size = Number(signed.split('\n')[1]);
  expect(size).toBeGreaterThan(2 * 4_096);

  const data = join(tempDir(), 'mirror');
  const follow = ['--mirror', source.url, '--log-key', logKey, '--sync-interval', '100'];
  const mirror = await serveNode(data, follow);
  // Killed once it holds at least one part and not yet the whole tree.
  let held = 0;
  while (held < 4_096) {
    ({ held } = await sizes(mirror.url));
    if (held < 4_096) await new Promise((r) => setTimeout(r, 20));
  }
  expect(held).toBeLessThan(size);
  expect((await sizes(mirror.url)).served).toBe(0);
  // Until the last part it serves no checkpoint, and no history: it holds only the first part of a signed tree.
  expect((await fetch(`${mirror.url}/checkpoint`)).status).toBe(503);
  const history = await fetch(`${mirror.url}/v1/items/${serial}`);
  expect({ status: history.status, code: ((await history.json()) as { code: string }).code }).toEqual({
    status: 503,
    code: 'CUSTODY_UNAVAILABLE',
  });
  await mirror.stop('SIGKILL');

  // What it held survives: the first part of the signed tree, with no checkpoint to serve yet.
  const ledger = await Ledger.open(join(data, 'ledger'));
  const kept = { size: ledger.size, checkpoint: ledger.checkpoint, accepted: ledger.accepted };
  await ledger.close();
  expect(kept.size).toBeGreaterThanOrEqual(4_096);
  expect(kept.size % 4_096).toBe(0);
  expect({ checkpoint: kept.checkpoint, accepted: kept.accepted }).toEqual({
    checkpoint: '',
    accepted: signed,
  });

  const again = await serveNode(data, follow);
  let served = await fetch(`${again.url}/checkpoint`);
  while (served.status !== 200) {
    await new Promise((r) => setTimeout(r, 50));
    served = await fetch(`${again.url}/checkpoint`);
  }
  expect(await served.text()).toBe(signed);
  expect((await fetch(`${again.url}/v1/items/${serial}`)).status).toBe(200);
  expect((await again.stop()).code).toBe(0);

  // Stopped while the source takes more than a part, then restarted: while
  // it catches up it serves the tree it held (checkpoint, histories), never a 503.
  await post(EVENTS, EVENTS + MORE);
  http.close();
  const latest = await (await fetch(`${source.url}/checkpoint`)).text();
  const third = await serveNode(data, follow);
  const seen: { served: number; held: number }[] = [];
  for (
    let at = await sizes(third.url);
    at.served < Number(latest.split('\n')[1]);
    at = await sizes(third.url)
  ) {
    seen.push(at);
    const [checkpoint, history] = await Promise.all([
      fetch(`${third.url}/checkpoint`),
      fetch(`${third.url}/v1/items/${serial}`),
    ]);
    expect([checkpoint.status, history.status]).toEqual([200, 200]);
    expect([signed, latest]).toContain(await checkpoint.text());
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(seen.some((at) => at.served === size && at.held > size)).toBe(true);
  expect(await (await fetch(`${third.url}/checkpoint`)).text()).toBe(latest);
  expect((await third.stop()).code).toBe(0);
  await source.stop();
  const audit = await custody(['audit', '--data', data]);
  expect(audit.code).toBe(0);
});

/**
 * The hostile-input corpus (test/hostile/cases, written by generate.ts)
 * against a real node on 127.0.0.1: each request gets its documented status
 * and code, the log does not change, and the node keeps serving. Then a client
 * that sends its body too slowly is cut off.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ledger } from '@custody/ledger';
import { createNode } from '@custody/node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { HostileCase } from './hostile/generate.js';
import { buildLedger, signed } from './hostile/world.js';
import { tempDir } from './support.js';

const folder = fileURLToPath(new URL('./hostile/cases/', import.meta.url));
const cases = readdirSync(folder)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ file: f, c: JSON.parse(readFileSync(join(folder, f), 'utf8')) as HostileCase }));

let ledger: Ledger;
let app: Awaited<ReturnType<typeof createNode>>;
let url: string;
let heads: Record<string, string>;

/** What must not change: the tree, the chain heads and the histories. */
async function snapshot() {
  const chains = ['party:ACME', 'licence:L-1', 'shipment:SHP-1', 'shipment:SHP-NONE', 'licence:L-9'];
  return {
    size: ledger.size,
    checkpoint: ledger.checkpoint,
    heads: await Promise.all(chains.map((c) => ledger.head(c))),
    histories: await Promise.all(
      ['SN-1', 'SN-2'].map(async (s) => (await ledger.history({ serial: s })).timeline.map((t) => t.hash)),
    ),
  };
}

beforeAll(async () => {
  ({ ledger, heads } = await buildLedger(join(tempDir(), 'ledger')));
  app = await createNode({ ledger, rateLimit: false, requestTimeout: 1_000 });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app.close();
});

describe('the hostile corpus', () => {
  test('holds at least 60 requests', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
    expect(heads['licence:L-1']).toMatch(/^[0-9a-f]{64}$/);
  });

  test.each(cases.map(({ file, c }) => [file, c] as const))('%s', async (_file, c) => {
    const before = await snapshot();
    const body = c.bodyBase64 !== undefined ? Buffer.from(c.bodyBase64, 'base64') : c.body;
    const response = await fetch(url + c.url, {
      method: c.method,
      ...(c.contentType === undefined ? {} : { headers: { 'content-type': c.contentType } }),
      ...(body === undefined ? {} : { body }),
    });
    const answer = (await response.json()) as { code: string; message: string; requestId: string };
    expect({ status: response.status, code: answer.code }).toEqual(c.expect);
    expect(answer.message.length).toBeGreaterThan(10);
    expect(answer.message).not.toMatch(/node_modules|\/work\/|at \S+\.(ts|js):\d+/);
    expect(await snapshot()).toEqual(before);
  });

  test('after all of it the node still serves, and still takes a valid event', async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const event = signed(
      'ACME',
      'item.report',
      { serials: ['SN-2'] },
      { kind: 'recovered', reference: 'found' },
      null,
      { id: 'hostile-after-all' },
    );
    const response = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event),
    });
    expect(response.status).toBe(201);
  });
});

test('a client that sends its body too slowly is cut off, and the node goes on', async () => {
  const { port } = new URL(url);
  const started = performance.now();
  const { received, byServer } = await new Promise<{ received: string; byServer: boolean }>((resolve) => {
    let received = '';
    let byUs = false;
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(
        'POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"event":',
      );
    });
    socket.on('data', (d) => {
      received += d;
    });
    socket.on('close', () => resolve({ received, byServer: !byUs }));
    setTimeout(() => {
      byUs = true;
      socket.destroy();
    }, 10_000);
  });
  // The node's request timeout (1 s here) ends it: with a 408, or by closing the connection.
  expect(byServer).toBe(true);
  expect(received === '' || received.startsWith('HTTP/1.1 408')).toBe(true);
  expect(performance.now() - started).toBeLessThan(5_000);
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
});

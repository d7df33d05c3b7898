/**
 * A mirror following a source over HTTP (both on 127.0.0.1), catching up in
 * parts: four entries a part here, so that a short log takes several.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Ledger } from '@custody/ledger';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { tempDir } from '../../ledger/test/helpers.js';
import { castOf, transfer, World } from '../../ledger/test/world.js';
import { createNode } from '../src/app.js';
import { Follower } from '../src/mirror.js';

const PART = 4;
let source: World;
let node: FastifyInstance;
let url: string;

beforeAll(async () => {
  source = await World.create();
  await castOf(source);
  await transfer(source, { items: ['SN-0001', 'SN-0002'] });
  node = await createNode({ ledger: source.ledger, rateLimit: false });
  url = await node.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);

afterAll(async () => {
  await node.close();
  await source.ledger.close();
});

/** What the follower logs, by message. */
function recorder() {
  const messages: string[] = [];
  const record = (_: unknown, message?: string) => void messages.push(message ?? String(_));
  const log = { info: record, warn: record, error: record, debug: record } as unknown as FastifyBaseLogger;
  return { log, messages };
}

/** A mirror ledger whose replications are counted by size. */
async function mirrorLedger() {
  const dir = tempDir();
  const ledger = await Ledger.createMirror(join(dir, 'ledger'), { logVkey: source.ledger.logVkey });
  const parts: number[] = [];
  const replicate = ledger.replicate.bind(ledger);
  ledger.replicate = (leaves, checkpoint, prefixProof) => {
    parts.push(leaves.length);
    return replicate(leaves, checkpoint, prefixProof);
  };
  return { ledger, parts, dir };
}

test('a new mirror catches up in parts of bounded size, then serves the source’s checkpoint', async () => {
  const size = source.ledger.size;
  expect(size).toBeGreaterThan(2 * PART);
  const mirror = await mirrorLedger();
  const { log, messages } = recorder();
  await new Follower(mirror.ledger, url, 1_000, join(mirror.dir, 'evidence.json'), log, PART).syncOnce();
  expect(mirror.parts).toEqual(
    Array.from({ length: Math.ceil(size / PART) }, (_, i) => Math.min(PART, size - i * PART)),
  );
  expect(messages.filter((m) => m === 'mirror catching up')).toHaveLength(Math.ceil(size / PART) - 1);
  expect(messages.at(-1)).toBe('mirror caught up');
  expect(mirror.ledger.checkpoint).toBe(source.ledger.checkpoint);
  expect((await mirror.ledger.audit()).ok).toBe(true);
  await mirror.ledger.close();
});

test('a catch-up cut short resumes where it stopped, from the state on disk', async () => {
  const mirror = await mirrorLedger();
  const size = source.ledger.size;
  const leaves = (await source.ledger.events(0, PART)).map((e) => e.leaf);
  await mirror.ledger.replicate(
    leaves,
    source.ledger.checkpoint,
    await source.ledger.consistencyProof(PART, size),
  );
  await mirror.ledger.close();
  const reopened = await Ledger.open(join(mirror.dir, 'ledger'));
  expect({ size: reopened.size, checkpoint: reopened.checkpoint }).toEqual({ size: PART, checkpoint: '' });
  const { log, messages } = recorder();
  await new Follower(reopened, url, 1_000, join(mirror.dir, 'evidence.json'), log, PART).syncOnce();
  expect(messages.at(-1)).toBe('mirror caught up');
  expect({ size: reopened.size, checkpoint: reopened.checkpoint }).toEqual({
    size,
    checkpoint: source.ledger.checkpoint,
  });
  await reopened.close();
});

test('a source whose consistency proof for a part does not hold: the alarm is raised and the part is not kept', async () => {
  // A proxy to the source that flips a bit of every consistency proof it serves.
  const proxy: Server = createServer(async (request, response) => {
    const answer = await fetch(new URL(request.url ?? '/', url));
    let body = Buffer.from(await answer.arrayBuffer());
    if (request.url?.startsWith('/v1/proof/consistency')) {
      const json = JSON.parse(body.toString()) as { proof: string[] };
      json.proof = json.proof.map((h) => {
        const bytes = Buffer.from(h, 'base64');
        bytes[0] = (bytes[0] as number) ^ 1;
        return bytes.toString('base64');
      });
      body = Buffer.from(JSON.stringify(json));
    }
    response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
    response.end(body);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as { port: number };
  const mirror = await mirrorLedger();
  const { log, messages } = recorder();
  const follower = new Follower(
    mirror.ledger,
    `http://127.0.0.1:${port}`,
    1_000,
    join(mirror.dir, 'evidence.json'),
    log,
    PART,
  );
  await follower.syncOnce();
  expect(follower.status().alarm?.reason).toMatch(
    /^the source’s entries do not hold up: the source log sent entries that do not lead to the tree/,
  );
  expect(messages.some((m) => m.startsWith('MIRROR ALARM'))).toBe(true);
  expect({ size: mirror.ledger.size, accepted: mirror.ledger.accepted }).toEqual({ size: 0, accepted: '' });
  await mirror.ledger.close();
  await new Promise((resolve) => proxy.close(resolve));
});

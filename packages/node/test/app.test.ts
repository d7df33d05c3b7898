import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  type Bundle,
  cosigner,
  ed25519Verifier,
  fromBase64,
  generateKeyPair,
  hashLeaf,
  Log,
  openCheckpoint,
  rootOf,
  signEvent,
  verifyBundle,
  verifyConsistency,
  verifyInclusion,
  verifyReceipt,
  Witness,
  type WitnessRecord,
} from '@custody/ledger';
import { fc, test as prop } from '@fast-check/vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { castOf, LICENCE_BODY, transfer, transit, World } from '../../ledger/test/world.js';
import { createNode } from '../src/app.js';
import { receiptSerializer } from '../src/routes/events.js';
import { Receipt } from '../src/schemas.js';

let world: World;
let app: FastifyInstance;

beforeAll(async () => {
  world = await World.create();
  await castOf(world);
  await transfer(world, { items: ['SN-0001', 'SN-0002', 'SN-0003'] });
  app = await createNode({ ledger: world.ledger, closeLedger: false, rateLimit: false });
}, 60_000);

afterAll(async () => {
  await app.close();
  await world.ledger.close();
});

const post = (payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/v1/events', payload: payload as object, headers });
const get = (url: string) => app.inject({ method: 'GET', url });

/** A refusal: status, stable code, a sentence, a request id, nothing else; the log unchanged. */
async function expectRefusal(response: Promise<LightMyRequestResponse>, status: number, code: string) {
  const size = world.ledger.size;
  const r = await response;
  expect({ status: r.statusCode, code: r.json().code }).toEqual({ status, code });
  expect(Object.keys(r.json()).sort()).toEqual(['code', 'message', 'requestId']);
  expect(r.json().message).not.toMatch(/at .*\.(ts|js):\d+|node_modules|\/work\//);
  expect(world.ledger.size).toBe(size);
  return r;
}

const report = (serial: string, options: Parameters<World['sign']>[4] = {}) =>
  world.sign('ACME', 'item.report', { serials: [serial] }, { kind: 'lost', reference: 'ref-1' }, options);

describe('receipts as JSON', () => {
  // Any members, not only what the ledger writes: a duplicate's hash is read back from the store.
  const text = fc.string({ unit: 'binary', maxLength: 80 });
  const receipt = fc.record({
    index: fc.oneof(fc.nat(), fc.double()),
    leafHash: text,
    eventHash: text,
    checkpoint: fc.string({ unit: 'binary', maxLength: 400 }),
    inclusionProof: fc.array(text, { maxLength: 20 }),
  });
  prop.prop([fc.array(receipt, { minLength: 1, maxLength: 6 })])(
    "the text is JSON.stringify's, one checkpoint after another",
    (receipts) => {
      const toJson = receiptSerializer();
      for (const r of [...receipts, ...receipts.slice(0, 1)]) {
        expect(toJson(r, r.checkpoint)).toBe(JSON.stringify(r));
      }
    },
  );

  test('it writes exactly the members the documented Receipt schema declares', () => {
    // Written by hand for speed: a member added to the schema (and the OpenAPI
    // document) but not to the serializer would be missing from every receipt.
    const r = { index: 1, leafHash: 'a', eventHash: 'b', checkpoint: 'c', inclusionProof: [] };
    expect(Object.keys(JSON.parse(receiptSerializer()(r, r.checkpoint)))).toEqual(
      Object.keys(Receipt.properties),
    );
  });
});

describe('POST /v1/events', () => {
  test('201 with a receipt that proves inclusion offline; the same event again: 200, same receipt', async () => {
    const signed = report('SN-0101');
    const r = await post(signed);
    expect(r.statusCode).toBe(201);
    const receipt = r.json();
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(verifyReceipt(receipt, world.ledger.logVkey)).toBe(true);
    const again = await post(signed);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({
      index: receipt.index,
      eventHash: receipt.eventHash,
      leafHash: receipt.leafHash,
    });
  });

  test('400 CUSTODY_SCHEMA names the field; validation never alters the body', async () => {
    const bad = world.sign(
      'DE-BAFA',
      'licence.issue',
      { licence: 'L-X' },
      { ...LICENCE_BODY, route: ['Netherlands'] },
    );
    const r = await expectRefusal(post(bad), 400, 'CUSTODY_SCHEMA');
    expect(r.json().message).toContain('body.route.0');
    // A string where a number belongs would be "fixed" by a coercing validator; here it is refused as signed.
    const stringly = world.sign(
      'DE-BAFA',
      'licence.issue',
      { licence: 'L-Y' },
      {
        ...LICENCE_BODY,
        items: [{ model: 'G36', category: 'rifle', quantity: '5' as unknown as number }],
      },
    );
    await expectRefusal(post(stringly), 400, 'CUSTODY_SCHEMA');
    await expectRefusal(post({ event: report('SN-1').event }), 400, 'CUSTODY_SCHEMA');
  });

  test('400 CUSTODY_BAD_JSON for broken JSON and for __proto__ or constructor keys', async () => {
    const raw = (body: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/events',
        payload: body,
        headers: { 'content-type': 'application/json' },
      });
    await expectRefusal(raw('{"event":'), 400, 'CUSTODY_BAD_JSON');
    await expectRefusal(raw('{"__proto__":{"x":1},"event":{},"sig":""}'), 400, 'CUSTODY_BAD_JSON');
    await expectRefusal(
      raw('{"constructor":{"prototype":{"x":1}},"event":{},"sig":""}'),
      400,
      'CUSTODY_BAD_JSON',
    );
  });

  test('401 and 403 for signatures, keys, signers, roles, issuers and revoked keys', async () => {
    const good = report('SN-0102');
    const sig = Buffer.from(good.sig, 'base64');
    sig[0] = (sig[0] as number) ^ 1;
    await expectRefusal(post({ ...good, sig: sig.toString('base64') }), 401, 'CUSTODY_BAD_SIGNATURE');
    await expectRefusal(
      post(report('SN-0102', { key: generateKeyPair('ACME') })),
      401,
      'CUSTODY_UNKNOWN_KEY',
    );
    await expectRefusal(
      post(signEvent({ ...good.event }, generateKeyPair('XX-NOBODY'))),
      403,
      'CUSTODY_UNKNOWN_SIGNER',
    );
    await expectRefusal(
      post(world.sign('DE-CUSTOMS', 'licence.issue', { licence: 'L-Z' }, LICENCE_BODY)),
      403,
      'CUSTODY_ROLE_NOT_ALLOWED',
    );
    await expectRefusal(
      post(world.sign('KE-NCC', 'licence.suspend', { licence: 'DE-L-2026-0001' }, { reason: 'x' })),
      403,
      'CUSTODY_NOT_ISSUER',
    );
    const key = await world.register('XX-REVOKED', ['inspector'], 'KE');
    await world.submit(
      'REGISTRAR',
      'party.revoke-key',
      { party: 'XX-REVOKED' },
      { key: key.keyId, reason: 'lost' },
    );
    const revoked = world.sign(
      'XX-REVOKED',
      'item.report',
      { serials: ['SN-1'] },
      { kind: 'lost', reference: 'r' },
    );
    await expectRefusal(post(revoked), 403, 'CUSTODY_REVOKED_KEY');
  });

  test('409 for a stale prev, a replay and an existing subject; 422 for future times and unknown subjects', async () => {
    await expectRefusal(
      post(
        world.sign(
          'DE-BAFA',
          'licence.amend',
          { licence: 'DE-L-2026-0001' },
          { reason: 'x', terms: {} },
          { prev: null },
        ),
      ),
      409,
      'CUSTODY_STALE_PREV',
    );
    const first = report('SN-0103', { id: 'replay-test-1' });
    expect((await post(first)).statusCode).toBe(201);
    await expectRefusal(post(report('SN-0104', { id: 'replay-test-1' })), 409, 'CUSTODY_REPLAY');
    await expectRefusal(
      post(
        world.sign('DE-BAFA', 'licence.issue', { licence: 'DE-L-2026-0001' }, LICENCE_BODY, { prev: null }),
      ),
      409,
      'CUSTODY_SUBJECT_EXISTS',
    );
    const future = new Date(world.now.getTime() + 3_600_000).toISOString();
    await expectRefusal(post(report('SN-0105', { time: future })), 422, 'CUSTODY_FUTURE_TIME');
    await expectRefusal(
      post(
        world.sign(
          'NL-CUSTOMS',
          'shipment.transit',
          { shipment: 'NOPE' },
          transit('NLRTM', 'NL', { direction: 'entry' }),
        ),
      ),
      422,
      'CUSTODY_UNKNOWN_SUBJECT',
    );
  });

  test('413 for a body over the limit, 415 for a body that is not JSON', async () => {
    const huge = { ...report('SN-1'), padding: 'x'.repeat(200 * 1024) };
    await expectRefusal(post(huge), 413, 'CUSTODY_TOO_LARGE');
    const text = app.inject({
      method: 'POST',
      url: '/v1/events',
      payload: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    await expectRefusal(text, 415, 'CUSTODY_UNSUPPORTED_MEDIA');
  });

  test('429 when a client goes over its rate, with Retry-After', async () => {
    const limited = await createNode({ ledger: world.ledger, closeLedger: false, rateLimit: 2 });
    for (let i = 0; i < 2; i++)
      expect((await limited.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const r = await limited.inject({ method: 'GET', url: '/healthz' });
    expect(r.statusCode).toBe(429);
    expect(r.json().code).toBe('CUSTODY_RATE_LIMITED');
    expect(r.headers['retry-after']).toBeDefined();
    await limited.close();
  });

  test('503 with Retry-After when the write queue is full, and when storage fails', async () => {
    const full = await createNode({
      ledger: world.ledger,
      closeLedger: false,
      rateLimit: false,
      maxQueue: 0,
    });
    const r = await full.inject({ method: 'POST', url: '/v1/events', payload: report('SN-0106') });
    expect({ status: r.statusCode, code: r.json().code, retry: r.headers['retry-after'] }).toEqual({
      status: 503,
      code: 'CUSTODY_OVERLOADED',
      retry: '1',
    });
    await full.close();

    const spy = vi
      .spyOn(Log.prototype, 'stage')
      .mockRejectedValueOnce(Object.assign(new Error('disk'), { code: 'LEVEL_IO_ERROR' }));
    await expectRefusal(post(report('SN-0107')), 503, 'CUSTODY_STORAGE');
    spy.mockRestore();
    expect((await post(report('SN-0107'))).statusCode).toBe(201);
  });
});

describe('the rest of the error catalogue over HTTP', () => {
  test('409 a second genesis, 403 a correction by another signer, 400 a key not named for its party', async () => {
    const registrar = world.keys.get('REGISTRAR');
    const genesis = world.sign(
      'REGISTRAR',
      'ledger.genesis',
      {},
      {
        origin: world.ledger.origin,
        registrar: { id: 'REGISTRAR', name: 'again', country: 'CH', keys: [registrar?.vkey as string] },
        policy: { deliveryDays: 1, verificationDays: 1, maxBackdateDays: 1, maxFutureSeconds: 1 },
      },
    );
    await expectRefusal(post(genesis), 409, 'CUSTODY_GENESIS_EXISTS');
    const r = (await post(report('SN-0201'))).json();
    await expectRefusal(
      post(world.sign('EXPORTCO', 'event.correct', { event: r.eventHash }, { reason: 'not mine' })),
      403,
      'CUSTODY_NOT_ORIGINAL_SIGNER',
    );
    const misnamed = generateKeyPair('SOMEONE-ELSE').vkey;
    await expectRefusal(
      post(
        world.sign(
          'REGISTRAR',
          'party.register',
          { party: 'XX-NEW' },
          { name: 'n', roles: ['customs'], country: 'DE', keys: [misnamed] },
        ),
      ),
      400,
      'CUSTODY_BAD_KEY',
    );
  });

  test('413 for an entry over 64 KiB inside an acceptable body; 400 for text RFC 8785 cannot encode', async () => {
    const serials = Array.from({ length: 1100 }, (_, i) => `S${String(i).padStart(63, '0')}`);
    const big = world.sign(
      'ACME',
      'item.manufacture',
      { serials },
      { make: 'a', model: 'b', category: 'c', calibre: 'd', marking: {}, site: 'e' },
    );
    await expectRefusal(post(big), 413, 'CUSTODY_ENTRY_TOO_LARGE');
    const raw = JSON.stringify(report('SN-0301')).replace('"ref-1"', '"ref-\\ud800"');
    await expectRefusal(
      app.inject({
        method: 'POST',
        url: '/v1/events',
        payload: raw,
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'CUSTODY_NOT_CANONICAL',
    );
  });

  test('500 CUSTODY_INTERNAL names the request id and leaks nothing', async () => {
    const spy = vi
      .spyOn(world.ledger, 'history')
      .mockRejectedValueOnce(new Error('ENOENT: /work/secret/path at foo.ts:12'));
    const r = await app.inject({
      method: 'GET',
      url: '/v1/items/SN-0001',
      headers: { 'x-request-id': 'req-42' },
    });
    spy.mockRestore();
    expect(r.statusCode).toBe(500);
    expect(r.json()).toEqual({
      code: 'CUSTODY_INTERNAL',
      message: 'the node failed on this request; report request id req-42',
      requestId: 'req-42',
    });
  });

  test('503 CUSTODY_UNAVAILABLE for writes once the node is closing (the HTTP side: see the SIGTERM end-to-end test)', async () => {
    const { Batcher } = await import('../src/batcher.js');
    const batcher = new Batcher(world.ledger, { maxQueue: 10, maxGroup: 10 });
    await batcher.close();
    await expect(batcher.submit(report('SN-0202'))).rejects.toMatchObject({
      code: 'CUSTODY_UNAVAILABLE',
      status: 503,
    });
  });
});

describe('group commit', () => {
  test('what runs after each group runs one group at a time, in order, while the next group is sequenced', async () => {
    const { Batcher } = await import('../src/batcher.js');
    const calls: { size: number; overlapped: boolean }[] = [];
    let running = 0;
    const batcher = new Batcher(world.ledger, {
      maxQueue: 1_000,
      maxGroup: 10,
      afterGroup: async () => {
        running++;
        const call = { size: world.ledger.size, overlapped: running > 1 };
        calls.push(call);
        // Long enough for the next group to be sequenced and written meanwhile.
        await new Promise((r) => setTimeout(r, 30));
        call.overlapped ||= running > 1;
        running--;
      },
    });
    const sequenced = vi.spyOn(world.ledger, 'sequence');
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) => batcher.submit(report(`SN-09${String(i).padStart(2, '0')}`))),
    );
    await batcher.close();
    const groups = sequenced.mock.calls.length;
    sequenced.mockRestore();
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(groups).toBeGreaterThanOrEqual(3);
    expect(calls.length).toBe(groups);
    expect(calls.filter((c) => c.overlapped)).toEqual([]);
    // Each after the last, on the tree its group left or a later one.
    expect(calls.map((c) => c.size)).toEqual([...calls.map((c) => c.size)].sort((a, b) => a - b));
  });
});

describe('a node that also witnesses', () => {
  test('POST /add-checkpoint answers as tlog-witness says; /v1/events still takes JSON only', async () => {
    const records = new Map<string, WitnessRecord>();
    const store = {
      get: async (o: string) => records.get(o),
      put: async (o: string, r: WitnessRecord) => void records.set(o, r),
    };
    const witnessKey = cosigner('witness.test/w1', new Uint8Array(32).fill(9));
    const witness = new Witness(
      witnessKey,
      new Map([[world.ledger.origin, [ed25519Verifier(world.ledger.logVkey)]]]),
      store,
    );
    const node = await createNode({ ledger: world.ledger, closeLedger: false, rateLimit: false, witness });
    const send = (body: string) =>
      node.inject({
        method: 'POST',
        url: '/add-checkpoint',
        payload: body,
        headers: { 'content-type': 'text/plain' },
      });
    const first = await send(`old 0\n\n${world.ledger.checkpoint}`);
    expect(first.statusCode).toBe(200);
    expect(first.body).toMatch(/^— witness\.test\/w1 [A-Za-z0-9+/=]+\n$/);
    const stale = await send(`old 0\n\n${world.ledger.checkpoint}`);
    expect({ status: stale.statusCode, type: stale.headers['content-type'], body: stale.body }).toEqual({
      status: 409,
      type: 'text/x.tlog.size',
      body: `${world.ledger.size}\n`,
    });
    const text = await node.inject({
      method: 'POST',
      url: '/v1/events',
      payload: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.statusCode).toBe(415);
    await node.close();
  });
});

describe('reads', () => {
  test('GET /v1/checkpoint and /v1/log-key: a signed note that verifies with the key', async () => {
    const cp = await get('/v1/checkpoint');
    expect(cp.headers['content-type']).toMatch(/^text\/plain/);
    const key = (await get('/v1/log-key')).body.trim();
    expect(openCheckpoint(cp.body, ed25519Verifier(key)).checkpoint.size).toBe(BigInt(world.ledger.size));
  });

  test('GET /v1/entries pages, bounded, with the exact leaf bytes', async () => {
    const page = (await get('/v1/entries?start=0&end=5')).json();
    expect(page.entries.map((e: { index: number }) => e.index)).toEqual([0, 1, 2, 3, 4]);
    expect(page.entries[0].event.type).toBe('ledger.genesis');
    const one = (await get('/v1/entries/3')).json();
    expect(hashLeaf(fromBase64(one.leaf))).toEqual((await world.ledger.event(3)).leafHash);
    const small = await createNode({
      ledger: world.ledger,
      closeLedger: false,
      rateLimit: false,
      pageSize: 4,
    });
    const bounded = (await small.inject({ method: 'GET', url: '/v1/entries?start=2&end=100' })).json();
    expect({ n: bounded.entries.length, next: bounded.next }).toEqual({ n: 4, next: 6 });
    await small.close();
    await expectRefusal(get('/v1/entries/99999'), 404, 'CUSTODY_OUT_OF_RANGE');
    await expectRefusal(get('/v1/entries/007'), 400, 'CUSTODY_SCHEMA');
    await expectRefusal(get('/v1/entries?start=5&end=2'), 400, 'CUSTODY_BAD_INPUT');
    await expectRefusal(get('/v1/entries?start=99999999'), 404, 'CUSTODY_OUT_OF_RANGE');
    await expectRefusal(get('/v1/entries/18446744073709551615'), 404, 'CUSTODY_OUT_OF_RANGE');
  });

  test('GET /v1/heads gives the prev a new event on a chain must carry', async () => {
    const head = (await get('/v1/heads?chain=shipment:SHP-1')).json();
    const last = (await world.history({ shipment: 'SHP-1' })).timeline.at(-1);
    expect(head).toEqual({ chain: 'shipment:SHP-1', head: last?.hash });
    expect((await get('/v1/heads?chain=shipment:NEW-1')).json().head).toBeNull();
    await expectRefusal(get('/v1/heads?chain=nonsense'), 400, 'CUSTODY_SCHEMA');
  });

  test('GET /v1/proof/inclusion and /v1/proof/consistency verify against checkpoints', async () => {
    const size = world.ledger.size;
    const { checkpoint } = openCheckpoint(world.ledger.checkpoint, ed25519Verifier(world.ledger.logVkey));
    const inc = (await get(`/v1/proof/inclusion?index=7&size=${size}`)).json();
    const leafHash = (await world.ledger.event(7)).leafHash;
    expect(
      verifyInclusion(
        7n,
        BigInt(size),
        leafHash,
        inc.proof.map((p: string) => fromBase64(p)),
        checkpoint.root,
      ),
    ).toBe(true);
    const con = (await get(`/v1/proof/consistency?from=5&to=${size}`)).json();
    const oldRoot = rootOf((await world.ledger.events(0, 5)).map((e) => e.leafHash));
    expect(
      verifyConsistency(
        5n,
        BigInt(size),
        con.proof.map((p: string) => fromBase64(p)),
        oldRoot,
        checkpoint.root,
      ),
    ).toBe(true);
    await expectRefusal(get(`/v1/proof/inclusion?index=0&size=${size + 1}`), 400, 'CUSTODY_OUT_OF_RANGE');
    await expectRefusal(get('/v1/proof/consistency?from=0'), 400, 'CUSTODY_BAD_PROOF');
    // The parameter is named, and the reason is a sentence (not the pattern that refused it).
    const notNumber = await expectRefusal(get('/v1/proof/inclusion?index=x'), 400, 'CUSTODY_SCHEMA');
    expect(notNumber.json().message).toBe(
      'query parameter index must be a whole number, written in decimal without leading zeros',
    );
    const extra = await expectRefusal(get('/v1/proof/inclusion?index=1&extra=1'), 400, 'CUSTODY_SCHEMA');
    expect(extra.json().message).toBe('query parameter extra is not one this endpoint takes');
    const missing = await expectRefusal(get('/v1/proof/inclusion'), 400, 'CUSTODY_SCHEMA');
    expect(missing.json().message).toBe('query parameter index is missing');
  });

  test('GET /v1/items/:serial, shipments, licences, parties: histories; their bundles verify offline', async () => {
    const item = (await get('/v1/items/SN-0002')).json();
    expect({ verdict: item.verdict, types: item.timeline.length }).toEqual({ verdict: 'clean', types: 7 });
    for (const url of ['/v1/shipments/SHP-1', '/v1/licences/DE-L-2026-0001', '/v1/parties/ACME']) {
      expect((await get(url)).json().verdict).toBe('clean');
    }
    const bundle = await get('/v1/items/SN-0002/bundle');
    expect(bundle.headers['content-disposition']).toContain('serial-SN-0002.custody-bundle.json');
    const result = await verifyBundle(bundle.json() as Bundle, world.ledger.logVkey, { now: world.now });
    expect(result.verdict).toBe('clean');
    const later = (
      await get(`/v1/shipments/SHP-1?now=${new Date(world.now.getTime() + 400 * 86_400_000).toISOString()}`)
    ).json();
    expect(later.now).not.toBe(item.now);
    await expectRefusal(get('/v1/items/NOPE'), 404, 'CUSTODY_NOT_FOUND');
    await expectRefusal(get('/v1/items/SN-0002?now=yesterday'), 400, 'CUSTODY_BAD_INPUT');
  });

  test('the tlog-tiles read API: /checkpoint, tiles and entry bundles, immutable and gzip-able', async () => {
    const size = world.ledger.size;
    expect((await get('/checkpoint')).body).toBe(world.ledger.checkpoint);
    const tile = await get(`/tile/0/000.p/${size}`);
    expect(tile.headers['content-type']).toBe('application/octet-stream');
    expect(tile.headers['cache-control']).toContain('immutable');
    expect(tile.rawPayload.length).toBe(32 * size);
    const leafHashes = (await world.ledger.events(0, size)).map((e) =>
      Buffer.from(e.leafHash).toString('hex'),
    );
    const hashes = Array.from({ length: size }, (_, i) =>
      tile.rawPayload.subarray(32 * i, 32 * i + 32).toString('hex'),
    );
    expect(hashes).toEqual(leafHashes);
    const zipped = await app.inject({
      method: 'GET',
      url: '/tile/entries/000.p/3',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    const { gunzipSync } = await import('node:zlib');
    const bundle = gunzipSync(zipped.rawPayload);
    const first = bundle.subarray(2, 2 + bundle.readUInt16BE(0));
    expect(Buffer.from(hashLeaf(first)).toString('hex')).toBe(leafHashes[0]);
    await expectRefusal(get('/tile/0/000'), 404, 'CUSTODY_NOT_FOUND'); // the tree does not fill a full tile
    await expectRefusal(get(`/tile/0/000.p/${size + 1}`), 404, 'CUSTODY_NOT_FOUND');
    await expectRefusal(get('/tile/0/0'), 404, 'CUSTODY_NOT_FOUND');
  });

  test('GET /healthz, /metrics, /docs; unknown routes are 404 CUSTODY_NO_ROUTE', async () => {
    expect((await get('/healthz')).json()).toMatchObject({ status: 'ok', size: world.ledger.size });
    // After a full collection the node reports what its heap keeps.
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    await new Promise((r) => setTimeout(r, 20));
    const metrics = (await get('/metrics')).body;
    expect(Number(/\ncustody_heap_live_bytes (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(2 ** 20);
    expect(metrics).toMatch(/custody_tree_size \d+/);
    expect(metrics).toMatch(/custody_refusals_total\{code="CUSTODY_BAD_SIGNATURE"\} \d+/);
    expect(metrics).toMatch(/custody_append_seconds_bucket/);
    expect((await get('/docs/json')).json().paths['/v1/events'].post).toBeDefined();
    expect((await get('/docs')).statusCode).toBeLessThan(400);
    await expectRefusal(get('/v2/nothing'), 404, 'CUSTODY_NO_ROUTE');
  });

  test('GET /metrics reports the event loop since the last scrape: how busy, how late, and the collections that held it', async () => {
    const value = (text: string, name: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      return Number(line?.slice(name.length + 1));
    };
    const longest = 'custody_event_loop_delay_seconds{quantile="1"}';
    const running = 'custody_event_loop_thread_seconds_total{state="running"}';
    const waiting = 'custody_event_loop_thread_seconds_total{state="waiting"}';
    const before = (await get('/metrics')).body;
    // The loop held for 150 ms, as a long synchronous task would, then a full collection.
    const until = performance.now() + 150;
    while (performance.now() < until);
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    await new Promise((r) => setTimeout(r, 30));
    const held = (await get('/metrics')).body;
    expect(value(held, longest)).toBeGreaterThanOrEqual(0.1);
    expect(value(held, 'custody_event_loop_utilization')).toBeGreaterThan(0.5);
    expect(value(held, 'custody_gc_pause_seconds_total{kind="major"}')).toBeGreaterThan(0);
    // The loop's thread was on a core for those 150 ms, or waited for one (Linux's account of it).
    const onThread = (text: string) => value(text, running) + value(text, waiting);
    expect(onThread(held) - onThread(before)).toBeGreaterThanOrEqual(0.15);
    // The next scrape covers only the time since this one.
    await new Promise((r) => setTimeout(r, 50));
    const after = (await get('/metrics')).body;
    expect(value(after, longest)).toBeLessThan(0.1);
    expect(value(after, 'custody_event_loop_utilization')).toBeLessThan(0.5);
  });
});

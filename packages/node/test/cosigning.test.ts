import {
  cosignatureVerifier,
  cosigner,
  ed25519Verifier,
  openCheckpoint,
  type Receipt,
  verifyBundle,
  Witness,
  type WitnessRecord,
} from '@custody/ledger';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { castOf, transfer, World } from '../../ledger/test/world.js';
import { createNode } from '../src/app.js';

let log: World;
let host: World;
let witnessNode: FastifyInstance;
let witnessUrl: string;
const witnessKey = cosigner('witness.test/w1', new Uint8Array(32).fill(4));
const records = new Map<string, WitnessRecord>();

beforeAll(async () => {
  log = await World.create();
  await castOf(log);
  await transfer(log, { items: ['SN-0001', 'SN-0002'] });
  host = await World.create();
  const store = {
    get: async (o: string) => records.get(o),
    put: async (o: string, r: WitnessRecord) => void records.set(o, r),
  };
  const witness = new Witness(
    witnessKey,
    new Map([[log.ledger.origin, [ed25519Verifier(log.ledger.logVkey)]]]),
    store,
  );
  witnessNode = await createNode({ ledger: host.ledger, rateLimit: false, witness });
  witnessUrl = await witnessNode.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);

afterAll(async () => {
  await witnessNode.close();
  await log.ledger.close();
});

const submit = (app: FastifyInstance, serial: string) =>
  app.inject({
    method: 'POST',
    url: '/v1/events',
    payload: log.sign('ACME', 'item.report', { serials: [serial] }, { kind: 'lost', reference: 'r' }),
  });

describe('the log collects witness cosignatures after each checkpoint', () => {
  test('receipts, /v1/checkpoint and bundles carry the cosignature; a quorum of one verifies, of two does not', async () => {
    const app = await createNode({
      ledger: log.ledger,
      closeLedger: false,
      rateLimit: false,
      witnesses: [{ url: witnessUrl, verifier: cosignatureVerifier(witnessKey.vkey) }],
    });
    const r = await submit(app, 'SN-0101');
    expect(r.statusCode).toBe(201);
    const witnesses = [cosignatureVerifier(witnessKey.vkey)];
    const receipt = r.json() as Receipt;
    expect(
      openCheckpoint(receipt.checkpoint, ed25519Verifier(log.ledger.logVkey), { witnesses }).cosignatures,
    ).toHaveLength(1);
    const cp = (await app.inject({ method: 'GET', url: '/v1/checkpoint' })).body;
    expect(cp).toBe(receipt.checkpoint);
    expect(records.get(log.ledger.origin)?.size).toBe(String(log.ledger.size));
    const bundle = (await app.inject({ method: 'GET', url: '/v1/items/SN-0001/bundle' })).json();
    expect(
      (await verifyBundle(bundle, log.ledger.logVkey, { now: log.now, witnesses, quorum: 1 })).verdict,
    ).toBe('clean');
    const second = cosignatureVerifier(cosigner('witness.test/w2', new Uint8Array(32).fill(5)).vkey);
    const two = await verifyBundle(bundle, log.ledger.logVkey, {
      now: log.now,
      witnesses: [...witnesses, second],
      quorum: 2,
    });
    expect({ verdict: two.verdict, failed: two.checks.find((c) => !c.ok)?.name }).toEqual({
      verdict: 'invalid',
      failed: 'witness quorum',
    });
    await app.close();
  });

  test('a witness that missed checkpoints is caught up with a consistency proof (it answers 409 first)', async () => {
    // Two events the witness never hears of.
    await log.submit('ACME', 'item.report', { serials: ['SN-0102'] }, { kind: 'lost', reference: 'r' });
    await log.submit('ACME', 'item.report', { serials: ['SN-0103'] }, { kind: 'lost', reference: 'r' });
    const app = await createNode({
      ledger: log.ledger,
      closeLedger: false,
      rateLimit: false,
      witnesses: [{ url: witnessUrl, verifier: cosignatureVerifier(witnessKey.vkey) }],
    });
    const r = await submit(app, 'SN-0104');
    const opened = openCheckpoint(r.json().checkpoint, ed25519Verifier(log.ledger.logVkey), {
      witnesses: [cosignatureVerifier(witnessKey.vkey)],
    });
    expect(opened.cosignatures).toHaveLength(1);
    expect(records.get(log.ledger.origin)?.size).toBe(String(log.ledger.size));
    await app.close();
  });

  test('a witness that does not answer delays a group by at most the timeout, and the log goes on', async () => {
    const app = await createNode({
      ledger: log.ledger,
      closeLedger: false,
      rateLimit: false,
      witnessTimeout: 300,
      witnesses: [{ url: 'http://127.0.0.1:9', verifier: cosignatureVerifier(witnessKey.vkey) }],
    });
    const r = await submit(app, 'SN-0105');
    expect(r.statusCode).toBe(201);
    const opened = openCheckpoint(r.json().checkpoint, ed25519Verifier(log.ledger.logVkey), {
      witnesses: [cosignatureVerifier(witnessKey.vkey)],
    });
    expect(opened.cosignatures).toHaveLength(0);
    await app.close();
  });
});

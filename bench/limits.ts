/** The machine's raw limits, measured in the same run as our figures. */
import { createHash, sign as cryptoSign, verify as cryptoVerify, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type PublicKey, parsePublicKey, type VerifyEngine, VerifyPool } from '@custody/ledger';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { Level } from 'level';
import { HttpClient, postTransfers } from './http-client.js';

ed.hashes.sha512 = sha512;

/** Operations per second of `op`, run for about `ms` milliseconds. */
export function rate(op: () => void, ms = 1500): number {
  const end = performance.now() + ms;
  let n = 0;
  const start = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) op();
    n += 50;
  }
  return n / ((performance.now() - start) / 1000);
}

export function nobleVerifyRate(): number {
  const secret = ed.utils.randomSecretKey();
  const pub = ed.getPublicKey(secret);
  const msg = new Uint8Array(300).fill(7);
  const sig = ed.sign(msg, secret);
  return rate(() => ed.verify(sig, msg, pub), 2000);
}

export function opensslVerifyRate(): number {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const msg = Buffer.alloc(300, 7);
  const sig = cryptoSign(null, msg, privateKey);
  return rate(() => cryptoVerify(null, msg, publicKey, sig));
}

/** node:crypto verifies on two threads at once: the rate both cores reach. */
export async function opensslVerifyRateBothCores(): Promise<number> {
  const code = `
    const { generateKeyPairSync, sign, verify } = require('node:crypto');
    const { parentPort } = require('node:worker_threads');
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const msg = Buffer.alloc(300, 7); const sig = sign(null, msg, privateKey);
    const end = Date.now() + 2000; let n = 0;
    while (Date.now() < end) { for (let i = 0; i < 50; i++) verify(null, msg, publicKey, sig); n += 50; }
    parentPort.postMessage(n / 2);`;
  const counts = await Promise.all(
    [0, 1].map(
      () => new Promise<number>((resolve) => new Worker(code, { eval: true }).once('message', resolve)),
    ),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** Where sodium-native is (the ledger's verification threads use it; see verify-pool.ts). */
const SODIUM = createRequire(import.meta.url).resolve('sodium-native');

/** libsodium's verify (sodium-native), on this thread. */
export function libsodiumVerifyRate(): number {
  const sodium = createRequire(import.meta.url)(SODIUM) as {
    crypto_sign_verify_detached(sig: Uint8Array, message: Uint8Array, key: Uint8Array): boolean;
  };
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = rawPublicKey(publicKey.export({ format: 'der', type: 'spki' }));
  const msg = Buffer.alloc(300, 7);
  const sig = cryptoSign(null, msg, privateKey);
  return rate(() => sodium.crypto_sign_verify_detached(sig, msg, raw));
}

/** libsodium's verifies on two threads at once: the rate both cores reach. */
export async function libsodiumVerifyRateBothCores(): Promise<number> {
  const code = `
    const { generateKeyPairSync, sign } = require('node:crypto');
    const { parentPort, workerData } = require('node:worker_threads');
    const sodium = require(workerData);
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    const msg = Buffer.alloc(300, 7); const sig = sign(null, msg, privateKey);
    const end = Date.now() + 2000; let n = 0;
    while (Date.now() < end) { for (let i = 0; i < 50; i++) sodium.crypto_sign_verify_detached(sig, msg, raw); n += 50; }
    parentPort.postMessage(n / 2);`;
  const counts = await Promise.all(
    [0, 1].map(
      () =>
        new Promise<number>((resolve) =>
          new Worker(code, { eval: true, workerData: SODIUM }).once('message', resolve),
        ),
    ),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** Whose equation the ledger's verification threads compute on this machine. */
export async function verifyEngine(): Promise<VerifyEngine> {
  const pool = new VerifyPool(1);
  await pool.close();
  return pool.engine;
}

/** The raw 32-byte key at the end of an Ed25519 SubjectPublicKeyInfo. */
const rawPublicKey = (spki: Buffer) => spki.subarray(spki.length - 32);

/** A key the ledger's verification threads take, with the OpenSSL key pair it was made from. */
function floorKey(): { key: PublicKey; privateKey: ReturnType<typeof generateKeyPairSync>['privateKey'] } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const key = parsePublicKey(rawPublicKey(publicKey.export({ format: 'der', type: 'spki' })));
  if (key === undefined) throw new Error('OpenSSL made a key the ledger refuses');
  return { key, privateKey };
}

export function sha256Rate(): number {
  const data = Buffer.alloc(300, 1);
  return rate(() => createHash('sha256').update(data).digest());
}

/** LevelDB batches of `size` puts of 300 bytes, each written with sync: true. */
export async function levelSyncBatches(size: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-level-'));
  const db = new Level<string, string>(dir);
  await db.open();
  const value = 'x'.repeat(300);
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < 2000) {
    await db.batch(
      Array.from({ length: size }, (_, i) => ({ type: 'put' as const, key: `${n}-${i}`, value })),
      { sync: true },
    );
    n++;
  }
  const perSecond = n / ((performance.now() - start) / 1000);
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  return perSecond;
}

/**
 * The floor of durable signed ingest on this machine, with no logic at all:
 * groups of 1,000 Ed25519 verifies on the ledger's verification threads
 * (both cores; libsodium where it loads, as the ledger's pre-checks) while
 * LevelDB writes, with sync: true, a chained batch of as many operations as
 * the ledger writes for them (a 500-byte leaf and eleven small index and tree
 * rows per event). Events/s.
 */
export async function signedWriteFloor(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-floor-'));
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  const { key: publicKey, privateKey } = floorKey();
  const messages = Array.from({ length: 1000 }, (_, i) => Buffer.alloc(450, i));
  const signatures = messages.map((m) => cryptoSign(null, m, privateKey));
  const pool = new VerifyPool();
  const verifyGroup = () =>
    Promise.all(messages.map((m, i) => pool.verify(publicKey, m, signatures[i] as Buffer)));
  let key = 0;
  const writeGroup = () => {
    const batch = db.batch();
    for (const m of messages) {
      for (let op = 0; op < 12; op++) {
        const k = new Uint8Array(12);
        new DataView(k.buffer).setUint32(0, key++);
        batch.put(k, op === 0 ? m : new Uint8Array(40));
      }
    }
    return batch.write({ sync: true });
  };
  await verifyGroup(); // the threads started
  const groups = 20;
  const start = performance.now();
  for (let g = 0; g < groups; g++) await Promise.all([verifyGroup(), writeGroup()]);
  const perSecond = (groups * messages.length) / ((performance.now() - start) / 1000);
  await pool.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  return perSecond;
}

/**
 * The floor of a full audit of the ledger in `dir` on this machine, with no
 * custody logic: every leaf read in order, parsed and hashed (what the chain
 * and the tree need), and its event's signature verified on the ledger's
 * verification threads (both cores, libsodium where it loads, at the
 * audit's priority), as they are read. All under one key: a verification
 * costs the same whether it succeeds. Entries/s.
 */
export async function auditFloor(dir: string): Promise<number> {
  const { key, privateKey } = floorKey();
  const pool = VerifyPool.forAudit();
  await pool.verify(key, Buffer.of(0), cryptoSign(null, Buffer.of(0), privateKey)); // the threads started
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  const leaves = db.sublevel<Uint8Array, Uint8Array>('leaves', {
    keyEncoding: 'view',
    valueEncoding: 'view',
  });
  await db.open();
  const domain = Buffer.from('custody/event/v1\n');
  const eventEnd = Buffer.from(',"index":');
  const decoder = new TextDecoder();
  let entries = 0;
  const inFlight: Promise<unknown>[] = [];
  const start = performance.now();
  const iterator = leaves.values();
  for (let batch = await iterator.nextv(1000); batch.length > 0; batch = await iterator.nextv(1000)) {
    const messages: Buffer[] = [];
    const signatures: Buffer[] = [];
    for (const leaf of batch) {
      const bytes = Buffer.from(leaf.buffer, leaf.byteOffset, leaf.byteLength);
      const entry = JSON.parse(decoder.decode(bytes)) as { sig: string };
      createHash('sha256').update(Buffer.of(0)).update(bytes).digest();
      // The signed message is the domain and the event's bytes, which the leaf holds as they are.
      messages.push(Buffer.concat([domain, bytes.subarray(9, bytes.lastIndexOf(eventEnd))]));
      signatures.push(Buffer.from(entry.sig, 'base64'));
    }
    entries += batch.length;
    inFlight.push(Promise.all(messages.map((m, i) => pool.verify(key, m, signatures[i] as Buffer))));
    // A few batches ahead keeps both workers busy without holding the whole log.
    if (inFlight.length > 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
  const perSecond = entries / ((performance.now() - start) / 1000);
  await iterator.close();
  await db.close();
  await pool.close();
  return perSecond;
}

/**
 * The floor of signed ingest over HTTP on this machine, with no storage and
 * no logic: a node:http server (in a worker thread, an event loop of its
 * own) that reads each JSON body, verifies its Ed25519 signature on the
 * ledger's verification threads (as a node's pre-checks do: libsodium where
 * it loads, both cores) and answers 201 with a receipt-sized body, driven by
 * the same 64 closed-loop clients as the node. Events/s.
 */
export async function httpSignedFloor(requests = 20_000): Promise<number> {
  const server = `
    const { createServer } = require('node:http');
    const { parentPort, workerData } = require('node:worker_threads');
    const { pathToFileURL } = require('node:url');
    import(pathToFileURL(workerData.ledger).href).then(({ VerifyPool, parsePublicKey }) => {
      const key = parsePublicKey(workerData.key);
      const pool = new VerifyPool();
      const receipt = Buffer.from(JSON.stringify({ receipt: 'r'.repeat(1000) }));
      createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          const { event, sig } = JSON.parse(Buffer.concat(chunks).toString());
          pool.verify(key, Buffer.from(JSON.stringify(event)), Buffer.from(sig, 'base64')).then((ok) => {
            res.writeHead(ok ? 201 : 401, { 'content-type': 'application/json', 'content-length': receipt.length });
            res.end(receipt);
          });
        });
      }).listen(0, '127.0.0.1', function () { parentPort.postMessage(this.address().port); });
    });`;
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const bodies = Array.from({ length: requests }, (_, i) => {
    const event = { type: 'shipment.transit', id: `floor-${i}`, pad: 'x'.repeat(330) };
    const sig = cryptoSign(null, Buffer.from(JSON.stringify(event)), privateKey).toString('base64');
    return JSON.stringify({ event, sig });
  });
  const worker = new Worker(server, {
    eval: true,
    workerData: {
      ledger: createRequire(import.meta.url).resolve('@custody/ledger'),
      key: rawPublicKey(publicKey.export({ format: 'der', type: 'spki' })),
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const http = new HttpClient(`http://127.0.0.1:${port}`);
  const start = performance.now();
  await postTransfers(
    http,
    bodies.map((body) => [body]),
  );
  const perSecond = requests / ((performance.now() - start) / 1000);
  http.close();
  await worker.terminate();
  return perSecond;
}

import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { toBase64 } from '../src/bytes.js';
import { cosignatureVerifier, cosigner, openCheckpoint } from '../src/checkpoint.js';
import { Log } from '../src/log.js';
import { addSignatures, ed25519Verifier, type NoteVerifier, parseNote } from '../src/note.js';
import { generateSecretKey } from '../src/signature.js';
import { LevelWitnessStore, Witness, type WitnessRecord, type WitnessStore } from '../src/witness.js';
import { tempDir } from './helpers.js';

const ORIGIN = 'witnessed.test/log';
const entries = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => ({ received: '2026-11-22T00:00:00Z', event: { tag, i }, sig: 'c2ln' }));

class MemoryStore implements WitnessStore {
  readonly records = new Map<string, WitnessRecord>();
  async get(origin: string) {
    return this.records.get(origin);
  }
  async put(origin: string, record: WitnessRecord) {
    this.records.set(origin, record);
  }
}

async function setup() {
  const secretKey = generateSecretKey();
  const dir = tempDir();
  const log = await Log.create(join(dir, 'log'), { origin: ORIGIN, secretKey });
  const witnessKey = cosigner('witness.test/w1', generateSecretKey());
  const store = new MemoryStore();
  const logs = new Map<string, NoteVerifier[]>([[ORIGIN, [ed25519Verifier(log.logVkey)]]]);
  const witness = new Witness(witnessKey, logs, store, () => new Date('2026-11-22T12:00:00Z'));
  return { secretKey, dir, log, witnessKey, store, witness };
}

/** The add-checkpoint body for the log's current checkpoint, from `old`. */
async function request(log: Log, old: number, tamper?: (proof: Uint8Array[]) => Uint8Array[]) {
  const proof = old === 0 || old === log.size ? [] : await log.consistencyProof(old, log.size);
  const lines = (tamper ? tamper(proof) : proof).map(toBase64);
  return `old ${old}\n${lines.map((l) => `${l}\n`).join('')}\n${log.checkpoint}`;
}

describe('a witness (c2sp.org/tlog-witness)', () => {
  test('cosigns the first checkpoint, then only consistent ones; the cosignature verifies with its time', async () => {
    const { log, witness, witnessKey, store } = await setup();
    await log.append(entries(5, 'a'));
    const first = await witness.addCheckpoint(await request(log, 0));
    expect(first.status).toBe(200);
    const cosigned = addSignatures(log.checkpoint, parseNote(`x\n\n${first.body}`).signatures);
    const opened = openCheckpoint(cosigned, ed25519Verifier(log.logVkey), {
      witnesses: [cosignatureVerifier(witnessKey.vkey)],
    });
    expect(opened.cosignatures).toEqual([
      { name: 'witness.test/w1', keyId: witnessKey.keyId, timestamp: 1795348800n },
    ]);
    expect(store.records.get(ORIGIN)?.size).toBe('5');

    await log.append(entries(4, 'b'));
    expect((await witness.addCheckpoint(await request(log, 5))).status).toBe(200);
    expect((await witness.addCheckpoint(await request(log, 9))).status).toBe(200); // same tree again
  });

  test('409 with its size for a stale old size; 400 for an old size above the checkpoint', async () => {
    const { log, witness } = await setup();
    await log.append(entries(5, 'a'));
    await witness.addCheckpoint(await request(log, 0));
    await log.append(entries(2, 'b'));
    const stale = await witness.addCheckpoint(await request(log, 0));
    expect(stale).toEqual({ status: 409, body: '5\n', contentType: 'text/x.tlog.size' });
    expect((await witness.addCheckpoint((await request(log, 5)).replace('old 5', 'old 8'))).status).toBe(400);
  });

  test('422 for a bad consistency proof, or a proof from size 0; nothing is remembered', async () => {
    const { log, witness, store } = await setup();
    await log.append(entries(5, 'a'));
    const withProof = `old 0\n${toBase64(new Uint8Array(32))}\n\n${log.checkpoint}`;
    expect((await witness.addCheckpoint(withProof)).status).toBe(422);
    await witness.addCheckpoint(await request(log, 0));
    await log.append(entries(6, 'b'));
    const flipped = await request(log, 5, (p) =>
      p.map((h, i) => (i === 0 ? Uint8Array.from(h, (b, j) => (j === 0 ? b ^ 1 : b)) : h)),
    );
    expect((await witness.addCheckpoint(flipped)).status).toBe(422);
    expect(store.records.get(ORIGIN)?.size).toBe('5');
    expect((await witness.addCheckpoint(await request(log, 5))).status).toBe(200);
  });

  test('a forked log (same key and origin, diverging after entry 5) is refused', async () => {
    const { log, witness, secretKey, dir, store } = await setup();
    const fork = await Log.create(join(dir, 'fork'), { origin: ORIGIN, secretKey });
    await log.append(entries(5, 'same'));
    await fork.append(entries(5, 'same'));
    await witness.addCheckpoint(await request(log, 0));
    await log.append(entries(3, 'honest'));
    await fork.append(entries(3, 'forged'));
    expect((await witness.addCheckpoint(await request(log, 5))).status).toBe(200);
    // The fork at the same size: a different root.
    expect((await witness.addCheckpoint(await request(fork, 8))).status).toBe(409);
    // The fork, grown, proving from the honest size it never had.
    await fork.append(entries(2, 'forged'));
    expect((await witness.addCheckpoint(await request(fork, 8))).status).toBe(422);
    expect(store.records.get(ORIGIN)?.root).toBe(Buffer.from(log.root).toString('hex'));
  });

  test('404 for a log it does not witness, 403 for a checkpoint its log did not sign, 400 for a malformed body', async () => {
    const { log, witness } = await setup();
    await log.append(entries(2, 'a'));
    const other = await Log.create(join(tempDir(), 'other'), {
      origin: 'other.test/log',
      secretKey: generateSecretKey(),
    });
    await other.append(entries(1, 'x'));
    expect((await witness.addCheckpoint(await request(other, 0))).status).toBe(404);
    const impostor = await Log.create(join(tempDir(), 'impostor'), {
      origin: ORIGIN,
      secretKey: generateSecretKey(),
    });
    await impostor.append(entries(2, 'a'));
    expect((await witness.addCheckpoint(await request(impostor, 0))).status).toBe(403);
    for (const body of [
      '',
      'old 0\n',
      `old 01\n\n${log.checkpoint}`,
      `new 0\n\n${log.checkpoint}`,
      `old 0\nnot-base64\n\n${log.checkpoint}`,
    ]) {
      expect((await witness.addCheckpoint(body)).status).toBe(400);
    }
  });

  test('racing requests cannot roll the witness back: one wins, the other is told the new size', async () => {
    const { log, witness, store } = await setup();
    await log.append(entries(5, 'a'));
    await witness.addCheckpoint(await request(log, 0));
    await log.append(entries(3, 'b'));
    const smaller = await request(log, 5);
    await log.append(entries(4, 'c'));
    const larger = await request(log, 5);
    const answers = await Promise.all([witness.addCheckpoint(larger), witness.addCheckpoint(smaller)]);
    expect(answers.map((a) => a.status)).toEqual([200, 409]);
    expect(answers[1]?.body).toBe('12\n');
    expect(store.records.get(ORIGIN)?.size).toBe('12');
  });

  test('its state survives a restart (LevelDB, synced)', async () => {
    const { log, witnessKey } = await setup();
    const dir = join(tempDir(), 'witness');
    let store = await LevelWitnessStore.open(dir);
    const logs = new Map([[ORIGIN, [ed25519Verifier(log.logVkey)]]]);
    await log.append(entries(3, 'a'));
    expect((await new Witness(witnessKey, logs, store).addCheckpoint(await request(log, 0))).status).toBe(
      200,
    );
    await store.close();
    store = await LevelWitnessStore.open(dir);
    expect((await store.get(ORIGIN))?.size).toBe('3');
    expect((await new Witness(witnessKey, logs, store).addCheckpoint(await request(log, 0))).status).toBe(
      409,
    );
    await store.close();
  });
});

/**
 * Tampering with a node's folder behind its back, one way per test: a byte of
 * a stored leaf, an entry deleted, two entries swapped, an index entry
 * deleted, the stored state rolled back. Each time `custody audit --data`
 * names the entry or index entry that is wrong and exits 2, and an
 * investigator's `custody verify` against the node serving the tampered
 * folder exits 2 with the reason.
 */
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { Ledger } from '@custody/ledger';
import { Level } from 'level';
import { beforeAll, describe, expect, test } from 'vitest';
import { custody, custodyJson, serveNode, tempDir } from './support.js';

const root = tempDir();
const before = join(root, 'before');
const after = join(root, 'after');
const SERIAL = 'SN-A0001';
let logKey: string;
/** SERIAL's history, in order. */
let history: { index: number; type: string; shipment?: string }[];
let copies = 0;

/** The n-th event of SERIAL's history of this type. */
const nth = (type: string, n = 0) => {
  const e = history.filter((h) => h.type === type)[n];
  if (e === undefined) throw new Error(`${SERIAL} has no ${type} #${n}`);
  return e;
};

beforeAll(async () => {
  expect((await custody(['demo', '--data', before])).code).toBe(0);
  await cp(before, after, { recursive: true });
  // One more event in `after`, so `before` holds an older state of the same log.
  const node = await serveNode(after);
  const key = await custodyJson<{ vkey: string }>([
    'keygen',
    '--name',
    'FR-CUSTOMS',
    '--out',
    join(root, 'fr.key'),
  ]);
  const report = await custody([
    'party',
    'register',
    '--node',
    node.url,
    '--key',
    join(after, 'registrar.key'),
    '--id',
    'FR-CUSTOMS',
    '--name',
    'Douane',
    '--roles',
    'customs',
    '--country',
    'FR',
    '--vkey',
    key.json.vkey,
  ]);
  await node.stop();
  const ledger = await Ledger.open(join(after, 'ledger'));
  logKey = ledger.logVkey;
  history = (await ledger.history({ serial: SERIAL })).events.map((e) => ({
    index: e.index,
    type: e.event.type,
    shipment: (e.event.subject as { shipment?: string }).shipment,
  }));
  await ledger.close();
  expect(report.code).toBe(0);
}, 120_000);

const indexKey = (index: number) => {
  const key = new Uint8Array(8);
  new DataView(key.buffer).setBigUint64(0, BigInt(index));
  return key;
};

/** A copy of `after` changed by `change` through LevelDB directly, as an attacker on the disk would. */
async function tampered(change: (db: Level<Uint8Array, Uint8Array>) => Promise<void>): Promise<string> {
  const dir = join(root, `copy-${++copies}`);
  await cp(after, dir, { recursive: true });
  const db = new Level<Uint8Array, Uint8Array>(join(dir, 'ledger'), {
    keyEncoding: 'view',
    valueEncoding: 'view',
  });
  await change(db);
  await db.close();
  return dir;
}

const sublevel = (name: string) => (db: Level<Uint8Array, Uint8Array>) =>
  db.sublevel<Uint8Array, Uint8Array>(name, { keyEncoding: 'view', valueEncoding: 'view' });
const leaves = sublevel('leaves');
const meta = sublevel('meta');

interface AuditJson {
  ok: boolean;
  size: number;
  problem?: { index: number; kind: string; message: string; indexEntry?: string };
}

/**
 * `custody audit --data`, then against a node serving the folder `custody
 * verify SERIAL` and `custody audit --node` (after the verify, so that what the
 * audit remembers does not change what the verify sees).
 */
async function judge(dir: string, configDir = join(root, `config-${copies}`)) {
  const audit = await custodyJson<AuditJson>(['audit', '--data', dir]);
  const node = await serveNode(dir);
  const env = { CUSTODY_CONFIG_DIR: configDir };
  const verify = await custody(['verify', SERIAL, '--node', node.url, '--log-key', logKey], env);
  const remote = await custody(['audit', '--node', node.url, '--log-key', logKey, '--json'], env);
  await node.stop();
  return {
    audit,
    verify,
    remote: { code: remote.code, json: JSON.parse(remote.stdout || '{}') as AuditJson },
  };
}

describe('a tampered node folder', () => {
  test('one byte of a stored leaf: both audits name the entry; verify fails its inclusion proof', async () => {
    const victim = nth('item.manufacture').index;
    const dir = await tampered(async (db) => {
      const leaf = Buffer.from((await leaves(db).get(indexKey(victim))) as Uint8Array);
      const at = leaf.indexOf('"sig":"') + 10;
      leaf[at] = (leaf[at] as number) ^ 1;
      await leaves(db).put(indexKey(victim), leaf);
    });
    const { audit, verify, remote } = await judge(dir);
    expect(audit.code).toBe(2);
    expect(audit.json.problem).toMatchObject({ index: victim, kind: 'entry' });
    expect(audit.json.problem?.message).toBe(`entry ${victim}: the signature of ACME does not verify`);
    expect({ code: remote.code, problem: remote.json.problem }).toEqual({
      code: 2,
      problem: audit.json.problem,
    });
    expect(verify.code).toBe(2);
    expect(verify.stdout).toContain(
      `✗ inclusion proofs: entry ${victim}: its leaf is not in the signed tree`,
    );
  });

  test('an entry deleted: audit names it; the node cannot serve the evidence and verify exits 2 saying why', async () => {
    const victim = nth('shipment.transit').index;
    const dir = await tampered((db) => leaves(db).del(indexKey(victim)));
    const { audit, verify, remote } = await judge(dir);
    expect(audit.code).toBe(2);
    expect(audit.json.problem).toMatchObject({ index: victim, kind: 'missing-entry' });
    // The node cannot serve the entry either: the audit through it exits 2 too.
    expect(remote.code).toBe(2);
    expect(verify.code).toBe(2);
    expect(verify.stderr).toContain(`the node's log is damaged: entry ${victim} is missing from the store`);
  });

  test('two entries swapped: both audits name the first; verify fails its inclusion proof', async () => {
    const [a, b] = [nth('shipment.transit', 0).index, nth('shipment.transit', 1).index];
    const dir = await tampered(async (db) => {
      const [la, lb] = [await leaves(db).get(indexKey(a)), await leaves(db).get(indexKey(b))];
      await leaves(db).put(indexKey(a), lb as Uint8Array);
      await leaves(db).put(indexKey(b), la as Uint8Array);
    });
    const { audit, verify, remote } = await judge(dir);
    expect(audit.code).toBe(2);
    expect(audit.json.problem).toMatchObject({ index: a, kind: 'wrong-index' });
    expect({ code: remote.code, problem: remote.json.problem }).toMatchObject({
      code: 2,
      problem: { index: a, kind: 'wrong-index' },
    });
    expect(verify.code).toBe(2);
    expect(verify.stdout).toContain(`✗ inclusion proofs: entry ${a}: its leaf is not in the signed tree`);
  });

  test('an index entry deleted: audit names the index entry; verify finds the hole in the chain', async () => {
    const victim = nth('shipment.transit');
    const key = `i\u0000shipment:${victim.shipment}\u0000${victim.index.toString(16).padStart(16, '0')}`;
    const dir = await tampered(async (db) => {
      const space = db.sublevel<string, string>('custody', { keyEncoding: 'utf8', valueEncoding: 'utf8' });
      // There, stored as the store stores an empty value: one NUL byte (store.ts).
      expect(await space.get(key)).toBe('\u0000');
      await space.del(key);
    });
    const { audit, verify, remote } = await judge(dir);
    expect(audit.code).toBe(2);
    expect(audit.json.problem).toMatchObject({ index: victim.index, kind: 'index-entry' });
    // The log itself is intact: an audit through the node, which sees the log
    // and not the node's indexes, finds it sound; the folder's audit does not.
    expect(remote.code).toBe(0);
    expect(audit.json.problem?.indexEntry).toBe(
      `i / shipment:${victim.shipment} / ${victim.index.toString(16).padStart(16, '0')}`,
    );
    expect(verify.code).toBe(2);
    expect(verify.stdout).toMatch(/✗ signatures and chains: .*prev does not link to the previous event/);
  });

  test('the stored state rolled back: audit names the entry past its end; verify sees the rollback', async () => {
    const config = join(root, 'config-rollback');
    expect((await judge(after, config)).verify.code).toBe(0); // the investigator has seen the newer tree
    const old = new Level<Uint8Array, Uint8Array>(join(before, 'ledger'), {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    const state = (await meta(old).get(Buffer.from('state'))) as Uint8Array;
    await old.close();
    const dir = await tampered((db) => meta(db).put(Buffer.from('state'), state));
    const { audit, verify, remote } = await judge(dir, config);
    expect(audit.code).toBe(2);
    expect(audit.json.problem).toMatchObject({ index: audit.json.size, kind: 'extra-entry' });
    expect({ code: remote.code, kind: remote.json.problem?.kind }).toEqual({ code: 2, kind: 'rolled-back' });
    expect(verify.code).toBe(2);
    expect(verify.stdout).toMatch(
      /✗ consistency with the last checkpoint you verified: .*it was rolled back/,
    );
  });
});

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll } from 'vitest';
import { canonicalJson } from '../src/canonical.js';
import { CustodyError } from '../src/errors.js';
import { indexKey, type Store } from '../src/store.js';

// Registered while the file is collected: vitest ignores a hook registered
// inside a running test, and most folders are made there (each such test
// left its folder behind until this).
const dirs = new Set<string>();
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder under the OS temp dir, removed when the test file ends. */
export function tempDir(prefix = 'custody-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

/**
 * The ledger's LevelDB opened directly, bypassing the ledger, to change bytes
 * behind its back as an attacker with disk access could.
 */
export async function rawDb(dir: string) {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  const sub = (name: string) =>
    db.sublevel<Uint8Array, Uint8Array>(name, { keyEncoding: 'view', valueEncoding: 'view' });
  return { db, leaves: sub('leaves'), tree: sub('tree'), meta: sub('meta') };
}

/** Flips one bit of the signature stored in the leaf at `index`, keeping the leaf canonical JSON. */
export async function forgeStoredSignature(
  raw: Awaited<ReturnType<typeof rawDb>>,
  index: number,
): Promise<void> {
  const leaf = JSON.parse(Buffer.from((await raw.leaves.get(indexKey(index))) as Uint8Array).toString());
  const sig = Buffer.from(leaf.sig, 'base64');
  sig[3] = (sig[3] as number) ^ 1;
  leaf.sig = sig.toString('base64');
  await raw.leaves.put(indexKey(index), Buffer.from(canonicalJson(leaf)));
}

/** The error code a call fails with (sync or async), or undefined if it succeeds. */
export async function failsWith(f: () => unknown): Promise<string | undefined> {
  try {
    await f();
    return undefined;
  } catch (e) {
    return e instanceof CustodyError ? e.code : `non-custody error: ${String(e)}`;
  }
}

/** How many of this process's threads run at `nice` (Linux: field 19 of each /proc task's stat). */
export function threadsAtNice(nice: number): number {
  let count = 0;
  for (const task of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]) === nice) count++;
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return count;
}

/** The state of a store that holds no entries: for tests that commit rows only. */
export const STORE_STATE = {
  version: 1,
  origin: 'custody.test/log',
  logVkey: 'custody.test/log+00000000+AA',
  size: 0,
  frontier: [],
  lastLeafHash: new Uint8Array(32),
  checkpoint: '',
} as const;

/** Commits `keys` into the custody space, each with the value "value of KEY". */
export async function write(store: Store, keys: readonly string[]): Promise<void> {
  const space = store.space('custody');
  const state = await store.readState();
  await store.commit(
    { firstIndex: state?.size ?? 0, leaves: [], subtrees: [], state: state ?? STORE_STATE },
    keys.map((key) => ({ space, key, value: `value of ${key}` })),
  );
}

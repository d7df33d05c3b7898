import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll } from 'vitest';
import { CustodyError } from '../src/errors.js';

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

/** The error code a call fails with (sync or async), or undefined if it succeeds. */
export async function failsWith(f: () => unknown): Promise<string | undefined> {
  try {
    await f();
    return undefined;
  } catch (e) {
    return e instanceof CustodyError ? e.code : `non-custody error: ${String(e)}`;
  }
}

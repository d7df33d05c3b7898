import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll } from 'vitest';
import { CustodyError } from '../src/errors.js';

/** A fresh folder under the OS temp dir, removed when the test file ends. */
export function tempDir(prefix = 'custody-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
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

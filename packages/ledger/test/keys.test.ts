import { chmod, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { generateKeyPair, readKeyFile, writeKeyFile } from '../src/keys.js';
import { parseVkey } from '../src/note.js';
import { failsWith, tempDir } from './helpers.js';

describe('key files', () => {
  const dir = tempDir();

  test('are written with mode 0600, read back whole, and never overwritten', async () => {
    const key = generateKeyPair('DE-BAFA');
    const path = join(dir, 'bafa.key');
    await writeKeyFile(path, key);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const again = await readKeyFile(path);
    expect(again.vkey).toBe(key.vkey);
    expect(again.keyId).toBe(key.keyId);
    expect(parseVkey(key.vkey).name).toBe('DE-BAFA');
    expect(await failsWith(() => writeKeyFile(path, generateKeyPair('DE-BAFA')))).toBe(
      'CUSTODY_BAD_KEY_FILE',
    );
    expect((await readKeyFile(path)).vkey).toBe(key.vkey);
  });

  test('a key file readable by others is refused', async () => {
    const path = join(dir, 'open.key');
    await writeKeyFile(path, generateKeyPair('X-1'));
    await chmod(path, 0o644);
    expect(await failsWith(() => readKeyFile(path))).toBe('CUSTODY_BAD_KEY_FILE');
  });

  test('a damaged or foreign file is refused', async () => {
    const path = join(dir, 'damaged.key');
    await writeKeyFile(path, generateKeyPair('X-2'));
    const json = JSON.parse(await readFile(path, 'utf8'));
    json.vkey = generateKeyPair('X-2').vkey;
    const damaged = join(dir, 'damaged2.key');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(damaged, JSON.stringify(json), { mode: 0o600 });
    expect(await failsWith(() => readKeyFile(damaged))).toBe('CUSTODY_BAD_KEY_FILE');
    const foreign = join(dir, 'foreign.key');
    await writeFile(foreign, '{"hello":1}', { mode: 0o600 });
    expect(await failsWith(() => readKeyFile(foreign))).toBe('CUSTODY_BAD_KEY_FILE');
    expect(await failsWith(() => readKeyFile(join(dir, 'missing.key')))).toBe('CUSTODY_BAD_KEY_FILE');
  });
});

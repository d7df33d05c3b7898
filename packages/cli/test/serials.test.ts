import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson, encodeLeaf, MAX_LEAF_BYTES } from '@custody/ledger';
import { afterAll, describe, expect, test } from 'vitest';
import { chunkSerials, readSerials } from '../src/serials.js';

describe('serial numbers from the command line and CSV files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'custody-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('a CSV file: first column, header skipped, quotes and blank lines tolerated', async () => {
    const file = join(dir, 'a.csv');
    await writeFile(file, 'serial,model\n"SN-1",G36\nSN-2,G36\n\nSN-3\n');
    expect(await readSerials({ csv: file })).toEqual(['SN-1', 'SN-2', 'SN-3']);
  });

  test('bad, duplicate or missing serials are refused with the reason', async () => {
    await expect(readSerials({ serials: 'SN-1,bad serial' })).rejects.toThrow(/not a serial number/);
    await expect(readSerials({ serials: 'SN-1,SN-1' })).rejects.toThrow(/appears twice/);
    await expect(readSerials({})).rejects.toThrow(/either --serials/);
    await expect(readSerials({ csv: join(dir, 'missing.csv') })).rejects.toThrow(/cannot read/);
  });

  test('chunks fit the entry limit even for the longest serials, and keep every serial once, in order', () => {
    const longest = Array.from({ length: 20_000 }, (_, i) => `S${String(i).padStart(63, '0')}`);
    const chunks = chunkSerials(longest);
    expect(chunks.flat()).toEqual(longest);
    for (const chunk of chunks) {
      const event = {
        v: 1,
        type: 'item.manufacture',
        subject: { serials: chunk },
        body: { make: 'x'.repeat(100), model: 'y'.repeat(100), site: 'z'.repeat(200) },
      };
      const leaf = encodeLeaf({
        index: 1e12,
        prev: '0'.repeat(64),
        received: new Date().toISOString(),
        event: JSON.parse(canonicalJson(event)),
        sig: 'A'.repeat(88),
      });
      expect(leaf.length).toBeLessThanOrEqual(MAX_LEAF_BYTES);
    }
    expect(chunkSerials(Array.from({ length: 12_000 }, (_, i) => `S${i}`)).map((c) => c.length)).toEqual([
      5000, 5000, 2000,
    ]);
  });
});

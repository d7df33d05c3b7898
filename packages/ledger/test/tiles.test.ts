import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { toHex } from '../src/bytes.js';
import { openCheckpoint } from '../src/checkpoint.js';
import { Log } from '../src/log.js';
import { type Hash, hashLeaf, rootOf } from '../src/merkle.js';
import { ed25519Verifier } from '../src/note.js';
import { generateSecretKey } from '../src/signature.js';
import { parseTilePath, tilePath, tileRange, tilesOf } from '../src/tiles.js';
import { failsWith, tempDir } from './helpers.js';

describe('tile paths (c2sp.org/tlog-tiles)', () => {
  test('indices are 3-digit groups, all but the last prefixed x', () => {
    expect(tilePath({ level: 0, index: 1234067 })).toBe('tile/0/x001/x234/067');
    expect(tilePath({ level: 'entries', index: 5, width: 17 })).toBe('tile/entries/005.p/17');
    expect(parseTilePath('0/x001/x234/067')).toEqual({ level: 0, index: 1234067 });
    expect(parseTilePath('2/000.p/1')).toEqual({ level: 2, index: 0, width: 1 });
    expect(parseTilePath('entries/x001/000')).toEqual({ level: 'entries', index: 1000 });
  });

  test.each([
    '00/000',
    '64/000',
    '0/1',
    '0/0001',
    '0/x000/001',
    '0/001/x002',
    '0/000.p/0',
    '0/000.p/256',
    '0/000.p/01',
    'x/000',
    '0/',
  ])('refuses the non-canonical path tile/%s', async (rest) => {
    expect(await failsWith(() => parseTilePath(rest))).toBe('CUSTODY_NOT_FOUND');
  });

  test('a tree of 70,000 is served as the spec says', () => {
    const tiles = tilesOf(70_000);
    const at = (level: number) => tiles.filter((t) => t.level === level);
    expect(at(0).filter((t) => t.width === undefined)).toHaveLength(273);
    expect(at(0).filter((t) => t.width !== undefined)).toEqual([{ level: 0, index: 273, width: 112 }]);
    expect(at(1)).toEqual([
      { level: 1, index: 0 },
      { level: 1, index: 1, width: 17 },
    ]);
    expect(at(2)).toEqual([{ level: 2, index: 0, width: 1 }]);
    expect(tilesOf(256)).toEqual([
      { level: 0, index: 0 },
      { level: 1, index: 0, width: 1 },
    ]);
    expect(tilesOf(0)).toEqual([]);
  });

  test('a tile the tree cannot fill yet is not served', async () => {
    expect(await failsWith(() => tileRange({ level: 0, index: 0 }, 255))).toBe('CUSTODY_NOT_FOUND');
    expect(await failsWith(() => tileRange({ level: 0, index: 0, width: 200 }, 199))).toBe(
      'CUSTODY_NOT_FOUND',
    );
    expect(tileRange({ level: 0, index: 0, width: 200 }, 70_000)).toEqual({
      treeLevel: 0,
      start: 0,
      count: 200,
    });
  });
});

describe('the tiles of a 70,000-entry log', () => {
  let log: Log;
  const SIZE = 70_000;
  beforeAll(async () => {
    log = await Log.create(join(tempDir(), 'log'), {
      origin: 'tiles.test/log',
      secretKey: generateSecretKey(),
    });
    for (let n = 0; n < SIZE; n += 5000) {
      await log.append(
        Array.from({ length: 5000 }, (_, i) => ({
          received: '2026-11-22T00:00:00Z',
          event: { n: n + i },
          sig: 'c2ln',
        })),
      );
    }
  }, 120_000);

  const hashesOf = (bytes: Uint8Array): Hash[] =>
    Array.from({ length: bytes.length / 32 }, (_, i) => bytes.subarray(32 * i, 32 * i + 32));

  test('entry bundles hash to the level-0 tiles, and tiles above hash the full tiles below', async () => {
    const level0: Hash[] = [];
    for (const t of tilesOf(SIZE).filter((x) => x.level === 0)) {
      const tile = hashesOf(await log.tile(t));
      const bundle = await log.tile({ ...t, level: 'entries' });
      const leaves: Uint8Array[] = [];
      for (let at = 0; at < bundle.length; ) {
        const length = ((bundle[at] as number) << 8) | (bundle[at + 1] as number);
        leaves.push(bundle.subarray(at + 2, at + 2 + length));
        at += 2 + length;
      }
      expect(leaves.map((l) => toHex(createHash('sha256').update(Buffer.of(0)).update(l).digest()))).toEqual(
        tile.map(toHex),
      );
      level0.push(...tile);
    }
    const level1 = hashesOf(await log.tile({ level: 1, index: 0 }));
    for (let i = 0; i < 256; i++)
      expect(toHex(level1[i] as Hash)).toBe(toHex(rootOf(level0, i * 256, (i + 1) * 256)));
    const level2 = hashesOf(await log.tile({ level: 2, index: 0, width: 1 }));
    expect(toHex(level2[0] as Hash)).toBe(toHex(rootOf(level0, 0, 65_536)));
    const { checkpoint } = openCheckpoint(log.checkpoint, ed25519Verifier(log.logVkey));
    expect(toHex(rootOf(level0))).toBe(toHex(checkpoint.root));
    expect(level0).toHaveLength(SIZE);
    expect(toHex(hashLeaf((await log.entry(69_999)).leaf))).toBe(toHex(level0[69_999] as Hash));
    await log.close();
  }, 60_000);
});

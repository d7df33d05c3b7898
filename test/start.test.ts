/**
 * How the `custody` program starts (packages/cli/src/custody.cts): from the
 * code cache the build made, or compiled as usual when V8 refuses a cache;
 * and, as the program carries its own copy of the library beside the one the
 * node package imports, a CustodyError from either copy is one to both.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { CustodyError } from '../packages/ledger/src/errors.js';
import { tempDir } from './support.js';

const dist = fileURLToPath(new URL('../packages/cli/dist/', import.meta.url));
const { load } = createRequire(import.meta.url)(join(dist, 'custody.cjs')) as {
  load(file: string, cacheFile?: string): { program: { run: unknown }; cacheRejected: boolean };
};

test('the program starts from the code cache the build left', () => {
  const { program, cacheRejected } = load(join(dist, 'program.cjs'));
  expect({ run: typeof program.run, cacheRejected }).toEqual({ run: 'function', cacheRejected: false });
});

test('every package the program requires at run time is a dependency of the cli package', () => {
  // The bundle leaves some packages outside (scripts/bundle.mjs); an installed
  // CLI finds them only if its own package.json names them.
  const program = readFileSync(join(dist, 'program.cjs'), 'utf8');
  const required = new Set([...program.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1] as string));
  const packages = [...required].filter(
    (name) => !name.startsWith('node:') && !builtinModules.includes(name),
  );
  const { dependencies } = JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  expect(packages.sort()).toEqual(['@custody/node', 'level']);
  for (const name of packages) expect(Object.keys(dependencies)).toContain(name);
});

test('a cache V8 refuses is ignored, and the program compiled from source', () => {
  const dir = tempDir();
  copyFileSync(join(dist, 'program.cjs'), join(dir, 'program.cjs'));
  writeFileSync(join(dir, 'program.cjs.cache'), 'not a code cache');
  const { program, cacheRejected } = load(join(dir, 'program.cjs'));
  expect({ run: typeof program.run, cacheRejected }).toEqual({ run: 'function', cacheRejected: true });
});

test('a CustodyError made by another copy of the library is a CustodyError', async () => {
  const library = new URL('../packages/ledger/dist/index.bundled.js', import.meta.url).href;
  const bundled = (await import(library)) as { CustodyError: typeof CustodyError };
  expect(bundled.CustodyError).not.toBe(CustodyError);
  expect(new bundled.CustodyError('CUSTODY_BAD_INPUT', 'x') instanceof CustodyError).toBe(true);
  expect(new CustodyError('CUSTODY_BAD_INPUT', 'x') instanceof bundled.CustodyError).toBe(true);
  expect(new Error('x') instanceof CustodyError).toBe(false);
  expect(Object.create(null) instanceof CustodyError).toBe(false);
});

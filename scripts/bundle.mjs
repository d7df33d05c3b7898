/**
 * Bundles the built packages into the single files that start: the library
 * (dist/index.js with TypeBox and noble, the package's entry point) and the
 * `custody` program (dist/main.js with the library, commander and the
 * progress bar, as dist/program.cjs, started by dist/custody.cjs). Resolving
 * and reading a few hundred modules cost every `custody` command 300 ms at
 * start, then 60 ms for the CLI's own packages; one file each costs a
 * fraction (BENCHMARKS.md).
 *
 * The program is CommonJS so that its start can use a V8 code cache, made
 * here by running the demo once (see packages/cli/src/custody.cts): Node 20
 * offers none for ES modules. It carries its own copy of the library; the
 * node package, which `serve` and `demo` load, imports the library's bundle
 * (CustodyError is recognised across the two copies).
 *
 * Kept outside: `level` and `sodium-native`, which find their native
 * binaries relative to themselves, and the node package (with Fastify),
 * which only `serve` and `demo` load; the cli package depends on them all,
 * so that an installed program finds them.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

const at = (path) => new URL(`../packages/${path}`, import.meta.url).pathname;
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: [at('ledger/dist/index.js')],
  outfile: at('ledger/dist/index.bundled.js'),
  external: ['level', 'sodium-native'],
});
await build({
  ...common,
  format: 'cjs',
  entryPoints: [at('cli/dist/main.js')],
  outfile: at('cli/dist/program.cjs'),
  external: ['level', 'sodium-native', '@custody/node'],
  // The library finds sodium-native from its own file (verify-pool.ts); a
  // CommonJS file has no import.meta, so its URL is the program's own.
  define: { 'import.meta.url': 'programUrl' },
  banner: { js: "const programUrl = require('node:url').pathToFileURL(__filename).href;" },
  // import() of a package left outside becomes require(): a script run from
  // a code cache (vm.Script) has no loader for import(). The node package is
  // an ES module without top-level await, which require() loads (Node ≥ 20.19).
  supported: { 'dynamic-import': false },
});

chmodSync(at('cli/dist/custody.cjs'), 0o755);

// The cache holds what V8 compiled while the demo ran: the code of every
// command's common path (reading, signing, sending, verifying, printing).
const cache = at('cli/dist/program.cjs.cache');
rmSync(cache, { force: true });
// Without it custody only starts slower, so a demo that cannot run here
// (no loopback, say) leaves a warning, not a failed build.
const config = mkdtempSync(join(tmpdir(), 'custody-build-'));
try {
  execFileSync(process.execPath, [at('cli/dist/custody.cjs'), 'demo', '--json'], {
    env: { ...process.env, CUSTODY_WRITE_CODE_CACHE: cache, CUSTODY_CONFIG_DIR: config },
    stdio: 'ignore',
  });
} catch (e) {
  rmSync(cache, { force: true });
  console.warn(`bundle: no code cache for the custody program (its demo run failed: ${e.message})`);
} finally {
  rmSync(config, { recursive: true, force: true });
}

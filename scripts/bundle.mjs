/**
 * Bundles the built packages into the single files that start: the library
 * (dist/index.js with TypeBox and noble, the package's entry point) and the
 * `custody` program (dist/bin.js with commander and the progress
 * packages, run as dist/custody.js). Resolving and reading a few hundred
 * modules cost every `custody` command 300 ms at start, then 60 ms for the
 * CLI's own packages; one file each costs a fraction (BENCHMARKS.md).
 *
 * Kept outside: `level`, which finds its native binary relative to itself,
 * and the workspace packages in the program's bundle, so that a process
 * holds one copy of the library (its error classes, its caches) however the
 * node is loaded.
 */
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
  external: ['level'],
});
await build({
  ...common,
  entryPoints: [at('cli/dist/bin.js')],
  outfile: at('cli/dist/custody.js'),
  external: ['level', '@custody/ledger', '@custody/node'],
  // The CommonJS packages inside require Node's own modules; an ES module has no `require` of its own.
  banner: {
    js: "import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);",
  },
});

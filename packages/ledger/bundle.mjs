/**
 * Bundles the built library (dist/index.js and what it imports, TypeBox and
 * noble included) into one file, dist/index.bundled.js, the package's entry point.
 * Resolving and reading TypeBox's few hundred modules cost every `custody`
 * command 300 ms at start; one file costs a fraction of that (BENCHMARKS.md).
 * LevelDB stays outside: `level` finds its native binary relative to itself.
 */
import { build } from 'esbuild';

await build({
  entryPoints: [new URL('./dist/index.js', import.meta.url).pathname],
  outfile: new URL('./dist/index.bundled.js', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['level'],
  sourcemap: true,
  logLevel: 'warning',
});

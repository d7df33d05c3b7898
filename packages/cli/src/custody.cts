#!/usr/bin/env node
/**
 * The `custody` command's start. It runs the bundled program (program.cjs:
 * the CLI with the library, built by scripts/bundle.mjs) from the V8 code
 * cache the build left beside it (program.cjs.cache, made by running the
 * demo once). Compiling the program cost every command about 50 ms of its
 * start (BENCHMARKS.md). V8 checks a cache against the program's source,
 * its own version and its flags; one it does not accept is ignored and the
 * program compiled as usual.
 */
import fs = require('node:fs');
import nodeModule = require('node:module');
import path = require('node:path');
import vm = require('node:vm');

interface Program {
  run(argv: string[]): Promise<number>;
}

interface Loaded {
  readonly program: Program;
  readonly script: vm.Script;
  /** True when a cache was there and V8 would not use it. */
  readonly cacheRejected: boolean;
}

/** Runs a CommonJS file as Node would, compiled from its code cache if it has one. */
function load(file: string, cacheFile = `${file}.cache`): Loaded {
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    // No cache: compiled from source.
  }
  const source = `(function (exports, require, module, __filename, __dirname) {${fs.readFileSync(file, 'utf8')}\n})`;
  const script = new vm.Script(source, {
    filename: file,
    ...(cachedData === undefined ? {} : { cachedData }),
  });
  const module = { exports: {} as Program };
  script.runInThisContext()(module.exports, nodeModule.createRequire(file), module, file, path.dirname(file));
  return {
    program: module.exports,
    script,
    cacheRejected: cachedData !== undefined && script.cachedDataRejected === true,
  };
}

async function main(): Promise<void> {
  // A reader that stops early (`custody audit | head`) closes the pipe: what it
  // did not read was not wanted. The output ends there and the command runs to
  // its own exit code; `serve` keeps serving (exiting here would drop the group
  // in flight).
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
  const { program, script } = load(path.join(__dirname, 'program.cjs'));
  // `serve` resolves once listening and keeps the process alive until a signal.
  process.exitCode = await program.run(process.argv);
  // The build sets this for its one run of the demo: what V8 compiled by then becomes the cache.
  const cacheOut = process.env.CUSTODY_WRITE_CODE_CACHE;
  if (cacheOut !== undefined) fs.writeFileSync(cacheOut, script.createCachedData());
}

if (require.main === module) void main();

export = { load };

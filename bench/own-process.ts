/**
 * A bench program run in a process of its own, so that what it measures
 * (rate, RSS) is its work's and not the benchmark's: plain Node on the
 * program bundled to JavaScript, since tsx's loader alone takes about 100
 * MB (a process that imports the library: 49 MB of RSS without it, 151 with
 * it), and the benchmark's process holds 300 MB and more of peer payloads
 * and earlier phases before its first ingest.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { holdHeapNearLive } from '@custody/node';
import { buildSync } from 'esbuild';

export const BENCH_DIR = fileURLToPath(new URL('../.bench/', import.meta.url));

export type Malloc = 'glibc' | 'jemalloc';

/** Debian's jemalloc on amd64, as the README has operators preload it into a node. */
const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

/** The malloc the README tells operators to run a node with, if this machine has it. */
export const operatorMalloc: Malloc = existsSync(JEMALLOC) ? 'jemalloc' : 'glibc';

/** The environment of a child process that runs with `malloc`. */
export const mallocEnv = (malloc: Malloc): NodeJS.ProcessEnv =>
  malloc === 'jemalloc' ? { ...process.env, LD_PRELOAD: JEMALLOC } : process.env;

/** Which malloc this process runs with: jemalloc if it was preloaded, else glibc's. */
export const mallocInUse = (): Malloc =>
  readFileSync('/proc/self/maps', 'utf8').includes('libjemalloc') ? 'jemalloc' : 'glibc';

/**
 * Bundles the module at `moduleUrl` (a bench file's import.meta.url) and runs
 * it under plain Node with `args`, its output inherited; jemalloc preloaded
 * when `malloc` says so (BENCHMARKS.md, RSS). Throws if it exits non-zero.
 */
export function runInOwnProcess(moduleUrl: string, args: readonly string[], malloc: Malloc = 'glibc'): void {
  const source = fileURLToPath(moduleUrl);
  const program = join(BENCH_DIR, basename(source).replace(/\.ts$/, '.mjs'));
  mkdirSync(BENCH_DIR, { recursive: true });
  buildSync({
    entryPoints: [source],
    outfile: program,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  execFileSync(process.execPath, [program, ...args], {
    stdio: 'inherit',
    env: mallocEnv(malloc),
  });
}

/** Whether this module is the program a process was started with (not imported). */
export const isMain = (moduleUrl: string) => process.argv[1] === fileURLToPath(moduleUrl);

/**
 * Runs the job program at `moduleUrl` (one that calls jobMain) on `job` in a
 * process of its own, with `malloc`: the job goes there, and its result
 * comes back, through `jobFile`.
 */
export function runJob<Job, Result>(moduleUrl: string, job: Job, jobFile: string, malloc: Malloc): Result {
  writeFileSync(jobFile, JSON.stringify(job));
  runInOwnProcess(moduleUrl, [jobFile], malloc);
  return JSON.parse(readFileSync(jobFile, 'utf8')) as Result;
}

/**
 * In a job program started by runJob: reads the job, runs it, writes the
 * result in its place. The program stands for a node, so its heap is held
 * as `custody serve` holds a node's (holdHeapNearLive).
 */
export async function jobMain<Job, Result>(
  moduleUrl: string,
  run: (job: Job) => Promise<Result>,
): Promise<void> {
  if (!isMain(moduleUrl)) return;
  holdHeapNearLive();
  const jobFile = process.argv[2] as string;
  const result = await run(JSON.parse(readFileSync(jobFile, 'utf8')) as Job);
  writeFileSync(jobFile, JSON.stringify(result));
}

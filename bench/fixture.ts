/**
 * Large ledgers for the benchmark, built once and reused: a 10^6-entry
 * ledger takes minutes to build and seconds to copy. `pnpm bench:fixture
 * [size]` builds one (or rebuilds it); `pnpm bench` builds what is missing.
 * Each lives in .bench/fixture-SIZE/ with a fixture.json that holds the keys
 * and counters to go on feeding it, a sample of its serials, and what the
 * build measured (its ingest is the benchmark's long ingest: rate and RSS).
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, generateKeyPair, Ledger, toHex } from '@custody/ledger';
import { holdHeapNearLive } from '@custody/node';
import { BENCH_DIR, isMain, mallocInUse, operatorMalloc, runInOwnProcess } from './own-process.js';
import { benchLedger, ingestChunk, Workload, type WorkloadState } from './workload.js';

export interface FixtureMeta {
  readonly size: number;
  readonly logSecretKey: string;
  readonly logName: string;
  readonly work: WorkloadState;
  /** One serial of every 100th transfer, for history and bundle samples. */
  readonly serials: string[];
  /** Canonical event bytes plus signature text of every event, for the disk ratio. */
  readonly rawBytes: number;
  readonly built: {
    readonly date: string;
    readonly seconds: number;
    readonly eventsPerSecond: number;
    /**
     * RSS in MB before the ingest, and over each tenth of it: the median of
     * what was sampled after every chunk of that tenth (one sample moved by
     * 10–25 MB from the next; fixtures built before 2026-12-03's thirteenth
     * session hold one sample at the end of each tenth).
     */
    readonly rssStartMB: number;
    readonly rssMB: number[];
    /** The highest RSS sampled, after any chunk. */
    readonly rssPeakMB?: number;
    /**
     * The tenths' medians split (Linux): anonymous memory (heaps, malloc's)
     * and mapped files (LevelDB's open tables, the code).
     */
    readonly rssAnonMB?: number[];
    readonly rssFileMB?: number[];
    /** The malloc the build ran with: glibc's, or jemalloc through LD_PRELOAD (see BENCHMARKS.md). */
    readonly malloc?: 'glibc' | 'jemalloc';
  };
}

export const fixtureDir = (size: number) => join(BENCH_DIR, `fixture-${size}`);

/** The fixture's metadata, or undefined if it was never built (or its build did not finish). */
export function readFixture(size: number): FixtureMeta | undefined {
  const file = join(fixtureDir(size), 'fixture.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as FixtureMeta) : undefined;
}

const median = (values: readonly number[]) =>
  Math.round([...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] ?? 0);

/** This process's resident memory in MB, anonymous and file-backed (/proc/self/status; 0 where there is none). */
function rssSplit(): { anon: number; file: number } {
  const status = existsSync('/proc/self/status') ? readFileSync('/proc/self/status', 'utf8') : '';
  const mb = (field: string) =>
    Math.round(Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024);
  return { anon: mb('RssAnon'), file: mb('RssFile') };
}

/**
 * Builds the fixture of `size` entries from nothing, in chunks of two groups
 * of ~1,000 events generated before they are timed (signing is the clients'
 * work, not the ledger's).
 */
export async function buildFixture(size: number, log = console.log): Promise<FixtureMeta> {
  const dir = fixtureDir(size);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const logPair = generateKeyPair('bench.custody.test/log');
  const { ledger, work } = await benchLedger(join(dir, 'ledger'), logPair);
  const serials: string[] = [];
  const rssStartMB = Math.round(process.memoryUsage().rss / 2 ** 20);
  const rssMB: number[] = [];
  const rssAnonMB: number[] = [];
  const rssFileMB: number[] = [];
  let rssPeakMB = rssStartMB;
  let tenth: { rss: number[]; anon: number[]; file: number[] } = { rss: [], anon: [], file: [] };
  let rawBytes = 0;
  let seconds = 0;
  let events = 0;
  let nextTenth = size / 10;
  let transfer = 0;
  while (ledger.size < size) {
    const chunk = await ingestChunk(ledger, work, Math.min(2, Math.ceil((size - ledger.size) / 994)));
    for (const serial of chunk.serials) if (transfer++ % 100 === 0) serials.push(serial);
    rawBytes += chunk.rawBytes;
    events += chunk.events;
    seconds += chunk.seconds;
    const m = process.memoryUsage();
    const { anon, file } = rssSplit();
    tenth.rss.push(m.rss / 2 ** 20);
    tenth.anon.push(anon);
    tenth.file.push(file);
    rssPeakMB = Math.max(rssPeakMB, Math.round(m.rss / 2 ** 20));
    if (ledger.size >= nextTenth) {
      rssMB.push(median(tenth.rss));
      rssAnonMB.push(median(tenth.anon));
      rssFileMB.push(median(tenth.file));
      tenth = { rss: [], anon: [], file: [] };
      log(
        `  ${ledger.size.toLocaleString('en')} entries, ${Math.round(events / seconds)} events/s, RSS over the tenth ${rssMB.at(-1)} MB median (anonymous ${rssAnonMB.at(-1)}, files ${rssFileMB.at(-1)}), peak so far ${rssPeakMB}; JS heap now ${Math.round(m.heapUsed / 2 ** 20)} of ${Math.round(m.heapTotal / 2 ** 20)} MB, buffers ${Math.round(m.arrayBuffers / 2 ** 20)} MB`,
      );
      while (nextTenth <= ledger.size) nextTenth += size / 10;
    }
  }
  const meta: FixtureMeta = {
    size: ledger.size,
    logSecretKey: toHex(logPair.secretKey),
    logName: logPair.name,
    work: work.save(),
    serials,
    rawBytes,
    built: {
      date: new Date().toISOString(),
      seconds,
      eventsPerSecond: events / seconds,
      rssStartMB,
      rssMB,
      rssPeakMB,
      rssAnonMB,
      rssFileMB,
      malloc: mallocInUse(),
    },
  };
  await ledger.close();
  writeFileSync(join(dir, 'fixture.json'), `${JSON.stringify(meta)}\n`);
  return meta;
}

/** A private copy of the fixture's ledger in `target`, open, with the workload to go on feeding it. */
export async function copyFixture(
  size: number,
  target: string,
): Promise<{ ledger: Ledger; work: Workload; meta: FixtureMeta }> {
  if (readFixture(size) === undefined) buildInOwnProcess(size);
  const meta = readFixture(size) as FixtureMeta;
  cpSync(join(fixtureDir(size), 'ledger'), target, { recursive: true });
  const ledger = await Ledger.open(target, { secretKey: fromHex(meta.logSecretKey, 32) });
  return { ledger, work: Workload.restore(meta.work), meta };
}

/**
 * Builds the fixture in a process of its own (own-process.ts), so that its
 * RSS is the ingest's, with the malloc the README has operators preload
 * where the machine has it (CUSTODY_FIXTURE_MALLOC=glibc for glibc's).
 */
const buildInOwnProcess = (size: number) =>
  runInOwnProcess(
    import.meta.url,
    [String(size)],
    process.env.CUSTODY_FIXTURE_MALLOC === 'glibc' ? 'glibc' : operatorMalloc,
  );

if (isMain(import.meta.url)) {
  const size = Number(process.argv[2] ?? 1_000_000);
  if (import.meta.url.endsWith('.ts')) {
    // Run by `pnpm bench:fixture`, under tsx: the build itself goes to plain Node.
    buildInOwnProcess(size);
  } else {
    // Its ingest is the benchmark's RSS row: it runs as `custody serve` runs a node.
    holdHeapNearLive();
    console.log(`building a ${size.toLocaleString('en')}-entry fixture in ${fixtureDir(size)}…`);
    const meta = await buildFixture(size);
    console.log(
      `done: ${meta.size.toLocaleString('en')} entries in ${meta.built.seconds.toFixed(0)} s of ingest, ${Math.round(meta.built.eventsPerSecond)} events/s`,
    );
  }
}

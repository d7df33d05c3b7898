/**
 * The benchmark's durable ingest rows, each in a process of its own
 * (own-process.ts): the ledger opened there as a node opens it, fed whole
 * transfers in chunks of 5 groups of ~1,000 events generated and signed
 * before they are timed, and closed. What it measured and how far the
 * workload got come back through a JSON file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fromHex, Ledger } from '@custody/ledger';
import { isMain, runInOwnProcess } from './own-process.js';
import { ingestChunk, Workload, type WorkloadState } from './workload.js';

export interface IngestJob {
  readonly dir: string;
  readonly logSecretKey: string;
  readonly work: WorkloadState;
  /** Feed until the ledger holds this many entries… */
  readonly target: number;
  /** …and at least this many events. */
  readonly min: number;
}

export interface IngestResult {
  readonly events: number;
  readonly seconds: number;
  /** RSS of the process with the ledger open before the ingest, and its peak during it (bytes). */
  readonly rssBefore: number;
  readonly peakRss: number;
  /** One serial of every transfer fed, and the events' raw bytes (see Chunk). */
  readonly serials: string[];
  readonly rawBytes: number;
  readonly work: WorkloadState;
}

/** Runs `job` in a process of its own; the ledger must not be open in this one. */
export function ingestInOwnProcess(job: IngestJob, jobFile: string): IngestResult {
  writeFileSync(jobFile, JSON.stringify(job));
  runInOwnProcess(import.meta.url, [jobFile]);
  return JSON.parse(readFileSync(jobFile, 'utf8')) as IngestResult;
}

async function run(job: IngestJob): Promise<IngestResult> {
  const ledger = await Ledger.open(job.dir, { secretKey: fromHex(job.logSecretKey, 32) });
  const work = Workload.restore(job.work);
  const serials: string[] = [];
  let rawBytes = 0;
  let events = 0;
  let seconds = 0;
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  while (ledger.size < job.target || events < job.min) {
    const chunk = await ingestChunk(ledger, work, 5);
    serials.push(...chunk.serials);
    rawBytes += chunk.rawBytes;
    events += chunk.events;
    seconds += chunk.seconds;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  await ledger.close();
  return { events, seconds, rssBefore, peakRss, serials, rawBytes, work: work.save() };
}

if (isMain(import.meta.url)) {
  const jobFile = process.argv[2] as string;
  const result = await run(JSON.parse(readFileSync(jobFile, 'utf8')) as IngestJob);
  writeFileSync(jobFile, JSON.stringify(result));
}

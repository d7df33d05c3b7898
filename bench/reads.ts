/**
 * The benchmark's history and bundle timings, in a process of their own
 * (own-process.ts) as a node serves them: the bench's process holds 300 MB
 * and more by then, and its collections of that heap landed in the reads'
 * tail (at 10^6, history p99 4.6–6.4 ms read alone against 11–19 in the
 * bench's process, the slow reads mostly overlapping a collection). The
 * ledger is opened there, read, and closed; the times come back through a
 * JSON file.
 */
import { Ledger } from '@custody/ledger';
import { jobMain, type Malloc, runJob } from './own-process.js';

export interface ReadsJob {
  readonly dir: string;
  /** Histories timed straight after opening, before anything else is read (may be empty). */
  readonly justOpened: string[];
  /** Read untimed, alternately as histories and bundles, as a node that has been serving has. */
  readonly warmUp: string[];
  readonly histories: string[];
  readonly bundles: string[];
}

/** Milliseconds each read took, in the job's order. */
export interface ReadsResult {
  readonly justOpened: number[];
  readonly histories: number[];
  readonly bundles: number[];
}

/** Runs `job` in a process of its own, with `malloc`; the ledger must not be open in this one. */
export const readsInOwnProcess = (job: ReadsJob, jobFile: string, malloc: Malloc): ReadsResult =>
  runJob(import.meta.url, job, jobFile, malloc);

async function timed(
  serials: readonly string[],
  read: (serial: string) => Promise<unknown>,
): Promise<number[]> {
  const out: number[] = [];
  for (const serial of serials) {
    const t = performance.now();
    await read(serial);
    out.push(performance.now() - t);
  }
  return out;
}

async function run(job: ReadsJob): Promise<ReadsResult> {
  const ledger = await Ledger.open(job.dir);
  const history = (serial: string) => ledger.history({ serial });
  const bundle = (serial: string) => ledger.bundle({ serial });
  const justOpened = await timed(job.justOpened, history);
  for (const [i, serial] of job.warmUp.entries()) await (i % 2 === 0 ? history(serial) : bundle(serial));
  const histories = await timed(job.histories, history);
  const bundles = await timed(job.bundles, bundle);
  await ledger.close();
  return { justOpened, histories, bundles };
}

await jobMain(import.meta.url, run);

/**
 * The benchmark's durable ingest rows, each in a process of its own
 * (own-process.ts): the ledger opened there as a node opens it, fed whole
 * transfers in chunks of 5 groups of ~1,000 events generated and signed
 * before they are timed, and closed. A rate at a size is timed after the
 * process has fed its first events, as a node that has been serving has
 * its code compiled: the growth to the size from the process's start is
 * reported beside it. What it measured and how far the workload got come
 * back through a JSON file.
 */
import { fromHex, Ledger } from '@custody/ledger';
import { jobMain, type Malloc, runJob } from './own-process.js';
import { ingestChunk, Workload, type WorkloadState } from './workload.js';

export interface IngestJob {
  readonly dir: string;
  readonly logSecretKey: string;
  readonly work: WorkloadState;
  /** First fed until the ledger holds this many entries, and at least `warm` events… */
  readonly target: number;
  readonly warm: number;
  /** …then this many more, timed on their own: the rate at that size of a process past its start. */
  readonly timed: number;
}

/** Events fed, and the seconds the ledger took for them (generating and signing them not counted). */
export interface Fed {
  readonly events: number;
  readonly seconds: number;
}

export interface IngestResult {
  /** The ledger's size when the process opened it, and when the timed phase began. */
  readonly opened: number;
  readonly grown: number;
  /** The first phase: from the process's start (the JIT cold, the ledger just opened) to `target`. */
  readonly growth: Fed;
  readonly timed: Fed;
  /** RSS of the process with the ledger open before the ingest, and its peak during it (bytes). */
  readonly rssBefore: number;
  readonly peakRss: number;
  /** One serial of every transfer fed, and the events' raw bytes (see Chunk). */
  readonly serials: string[];
  readonly rawBytes: number;
  readonly work: WorkloadState;
}

/** Runs `job` in a process of its own, with `malloc`; the ledger must not be open in this one. */
export const ingestInOwnProcess = (job: IngestJob, jobFile: string, malloc: Malloc): IngestResult =>
  runJob(import.meta.url, job, jobFile, malloc);

async function run(job: IngestJob): Promise<IngestResult> {
  const ledger = await Ledger.open(job.dir, { secretKey: fromHex(job.logSecretKey, 32) });
  const work = Workload.restore(job.work);
  const serials: string[] = [];
  let rawBytes = 0;
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const feed = async (more: (fed: Fed) => boolean): Promise<Fed> => {
    let fed: Fed = { events: 0, seconds: 0 };
    while (more(fed)) {
      const chunk = await ingestChunk(ledger, work, 5);
      serials.push(...chunk.serials);
      rawBytes += chunk.rawBytes;
      fed = { events: fed.events + chunk.events, seconds: fed.seconds + chunk.seconds };
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    return fed;
  };
  const opened = ledger.size;
  const growth = await feed((fed) => ledger.size < job.target || fed.events < job.warm);
  const grown = ledger.size;
  const timed = await feed((fed) => fed.events < job.timed);
  await ledger.close();
  return { opened, grown, growth, timed, rssBefore, peakRss, serials, rawBytes, work: work.save() };
}

await jobMain(import.meta.url, run);

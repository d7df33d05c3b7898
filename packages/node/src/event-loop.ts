/**
 * How busy the node's one JavaScript thread is. Every request, every
 * group's answers and every signature check's reply waits its turn on the
 * event loop, so the loop's delay is part of every latency the node has:
 * under the load test's 7,300–8,600 writes a second it was busy 60–85 % of
 * the time, many seconds of slow writes were seconds in which its delay
 * reached 20–90 ms, and after a stall garbage collection's pauses on it
 * rose from about 50 to 200 ms a second (RELIABILITY.md, the twenty-first
 * session). Figures cover the time since the last read, so a scrape every
 * few seconds sees each interval once.
 */

import { readFileSync } from 'node:fs';
import {
  constants,
  createHistogram,
  type EventLoopUtilization,
  type NodeGCPerformanceDetail,
  PerformanceObserver,
  performance,
} from 'node:perf_hooks';

/** Milliseconds between the delay samples. */
const RESOLUTION_MS = 10;

export interface LoopFigures {
  /** Share of the interval the loop spent running callbacks, not waiting for I/O (0–1). */
  readonly utilization: number;
  /** How late a timer due every RESOLUTION_MS ran, in seconds: median, 99th percentile and most. */
  readonly delay: { readonly p50: number; readonly p99: number; readonly max: number };
  /**
   * Seconds the thread stood still for garbage collection: minor (the young
   * generation's scavenges) and major (full collections and their steps).
   */
  readonly gcPauses: { readonly minor: number; readonly major: number };
  /**
   * Seconds the loop's thread ran on a core, and waited for one while it
   * had work (Linux; absent elsewhere). On a machine of few cores it shares
   * them with the node's own helpers (signature checks, LevelDB's
   * compaction, V8's collector) and whatever else runs there: waiting
   * counts a busy machine in every latency.
   */
  readonly thread?: { readonly running: number; readonly waiting: number };
}

/** This thread's time on a core and waiting for one since it began, in seconds, or undefined off Linux. */
function threadTimes(): { running: number; waiting: number } | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/thread-self/schedstat', 'utf8');
  } catch {
    return undefined;
  }
  const [running = 0, waiting = 0] = text.split(' ').map(Number);
  return { running: running / 1e9, waiting: waiting / 1e9 };
}

export interface LoopWatch {
  /** The figures since the last read (or the start), and a new interval begun. */
  read(): LoopFigures;
  stop(): void;
}

export function watchEventLoop(): LoopWatch {
  // A timer of its own, not monitorEventLoopDelay: that one drops its first
  // sample after each reset, so a long task just after a scrape went unseen.
  const delays = createHistogram();
  let last = performance.now();
  const sampler = setInterval(() => {
    const now = performance.now();
    // In microseconds; a histogram takes whole numbers from 1.
    delays.record(Math.max(1, Math.round((now - last - RESOLUTION_MS) * 1000)));
    last = now;
  }, RESOLUTION_MS);
  sampler.unref();
  let since: EventLoopUtilization = performance.eventLoopUtilization();
  let minor = 0;
  let major = 0;
  let threadSince = threadTimes();
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: NodeGCPerformanceDetail }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minor += entry.duration / 1000;
      else major += entry.duration / 1000;
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  const seconds = (us: number) => (Number.isFinite(us) && delays.count > 0 ? us / 1e6 : 0);
  return {
    read() {
      const now = performance.eventLoopUtilization();
      const threadNow = threadTimes();
      const figures: LoopFigures = {
        utilization: performance.eventLoopUtilization(now, since).utilization,
        delay: {
          p50: seconds(delays.percentile(50)),
          p99: seconds(delays.percentile(99)),
          max: seconds(delays.max),
        },
        gcPauses: { minor, major },
        ...(threadNow === undefined || threadSince === undefined
          ? {}
          : {
              thread: {
                running: threadNow.running - threadSince.running,
                waiting: threadNow.waiting - threadSince.waiting,
              },
            }),
      };
      since = now;
      threadSince = threadNow;
      delays.reset();
      minor = 0;
      major = 0;
      return figures;
    },
    stop() {
      clearInterval(sampler);
      gc.disconnect();
    },
  };
}

/**
 * `custody serve` runs its node on a worker thread, for a young generation
 * twice V8's default. V8 sizes an isolate's heap as it starts: the main
 * thread's from Node's command line, before any of this program runs; a
 * worker's from the resource limits of the thread that starts it.
 *
 * A node under load allocates some 45 KB an event, nearly all of it dead
 * within its request, and each of the young generation's collections copies
 * whatever is in flight: the requests waiting. The smaller the young
 * generation, the more often it collects; on a busy machine its pauses
 * lengthened every wait, which kept more alive at the next. Twice the size
 * (what `--max-semi-space-size=32` gives) held the load test's node at
 * 24–29 ms of GC pauses a second against 31–62 on the main thread, every
 * latency target met in six alternated pairs against four, for 30–60 MB
 * of RSS (BENCHMARKS.md item 75).
 *
 * The main thread only starts the node's thread, hands it the signals the
 * process gets, and exits with its exit code; what the node prints goes
 * through it. An operator's own `--max-semi-space-size` still wins: V8's
 * flags override a worker's limits.
 */
import { EventEmitter } from 'node:events';
import { parentPort, Worker } from 'node:worker_threads';
import type { SignalSource } from '@custody/node';

/** The node thread's young generation (two semi-spaces of 32 MB and room for large objects, as V8 counts it). */
const YOUNG_GENERATION_MB = 96;

interface Forwarded {
  readonly signal: NodeJS.Signals;
}

/**
 * Runs this `custody` command (from the process's arguments) again on a
 * thread of its own and resolves with its exit code. SIGTERM and SIGINT go
 * on to the node (the first closes it gracefully, a second ends it at once).
 */
export function serveOnThread(): Promise<number> {
  // Beside program.cjs (or, unbundled, main.js), the program's start.
  const thread = new Worker(new URL('./custody.cjs', import.meta.url), {
    argv: process.argv.slice(2),
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
  });
  const forward = (signal: NodeJS.Signals) => thread.postMessage({ signal } satisfies Forwarded);
  process.on('SIGTERM', forward);
  process.on('SIGINT', forward);
  return new Promise((resolve) => {
    // What would have ended the process ends the thread: say so, then exit as the process would have (1).
    thread.on('error', (error) => process.stderr.write(`${error.stack ?? String(error)}\n`));
    thread.on('exit', (code) => {
      process.off('SIGTERM', forward);
      process.off('SIGINT', forward);
      resolve(code);
    });
  });
}

/** On the node's thread: the signals its process got, as the main thread forwards them. */
export function forwardedSignals(): SignalSource {
  const signals = new EventEmitter();
  parentPort?.on('message', ({ signal }: Forwarded) => signals.emit(signal, signal));
  return signals;
}

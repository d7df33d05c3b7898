/**
 * The JavaScript heap of a process that serves a ledger for months. What a
 * node keeps is small (22 MB live after a full collection at 10^6 entries),
 * but every group allocates rows, leaves and receipts that live long enough
 * to be promoted, and V8 by default lets the old generation grow to up to
 * four times what was live at its last full collection before it collects
 * again: the node's RSS then follows its allocation rate, not its data.
 * Growing by at most double took 46–51 MB off the peak of a 3 × 10^5-event
 * ingest (272–278 → 226–227 MB) at the same rate, within the runs' noise
 * (BENCHMARKS.md item 55); by at most half, 15–21 MB more off a 10^6-event
 * ingest's and the load test's node, for twice the full collections and an
 * ingest 1–7 % slower (item 70).
 */
import { constants, type NodeGCPerformanceDetail, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** V8's old generation grows to at most (1 + this / 100) times what was live at its last full collection. */
const HEAP_GROWING_PERCENT = 50;

/** An operator's own growth, on Node's command line (NODE_OPTIONS does not take it). */
const OWN_GROWTH = /^--heap[-_]growing[-_]percent(=|$)/;
/**
 * An operator's cap on the heap, on the command line or in NODE_OPTIONS.
 * Under a cap V8 already grows the heap carefully as it nears it, more so
 * than by double: a node taking 3,000 events/s for 40 s with a 128 MB cap held
 * 190–197 MB of RSS left so and 217–225 with the growth set (BENCHMARKS.md
 * item 55).
 */
const OWN_CAP = /(^|\s)--max[-_]old[-_]space[-_]size(=|\s|$)/;

/**
 * Sets this process's heap growth (HEAP_GROWING_PERCENT) unless it was
 * started with its own (`node --heap-growing-percent=N custody.cjs serve`)
 * or with a cap on its heap (`--max-old-space-size`). Returns whether it set
 * it. Process-wide and read at every full collection from then on: for a
 * program that is a node (`custody serve`), never for a library.
 */
export function holdHeapNearLive(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): boolean {
  if (execArgv.some((arg) => OWN_GROWTH.test(arg) || OWN_CAP.test(arg)) || OWN_CAP.test(nodeOptions)) {
    return false;
  }
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}

/** The spaces of V8's old generation: what a full collection leaves is what the process keeps. */
const OLD_GENERATION = new Set(['old_space', 'code_space', 'large_object_space', 'code_large_object_space']);

/**
 * Calls `report` after each full collection with the bytes then in use in
 * V8's old generation: about what the process keeps (its young generation
 * and what it allocated since are left out). Between collections the heap
 * holds garbage too, in a node held near what it keeps up to one and a half times this
 * (holdHeapNearLive), so this, not the heap's size or RSS, is what grows
 * steadily when something leaks.
 * Returns a function that stops it.
 */
export function watchLiveHeap(report: (bytes: number) => void): () => void {
  const observer = new PerformanceObserver((list) => {
    const full = list
      .getEntries()
      .some(
        (e) =>
          (e as unknown as { detail?: NodeGCPerformanceDetail }).detail?.kind ===
          constants.NODE_PERFORMANCE_GC_MAJOR,
      );
    if (!full) return;
    let bytes = 0;
    for (const space of getHeapSpaceStatistics()) {
      if (OLD_GENERATION.has(space.space_name)) bytes += space.space_used_size;
    }
    report(bytes);
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}

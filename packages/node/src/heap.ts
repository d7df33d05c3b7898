/**
 * The JavaScript heap of a process that serves a ledger for months. What a
 * node keeps is small (22 MB live after a full collection at 10^6 entries),
 * but every group allocates rows, leaves and receipts that live long enough
 * to be promoted, and V8 by default lets the old generation grow to up to
 * four times what was live at its last full collection before it collects
 * again: the node's RSS then follows its allocation rate, not its data.
 * Growing by at most double took 46–51 MB off the peak of a 3 × 10^5-event
 * ingest (272–278 → 226–227 MB) at the same rate, within the runs' noise
 * (BENCHMARKS.md item 55).
 */
import { setFlagsFromString } from 'node:v8';

/** V8's old generation grows to at most (1 + this / 100) times what was live at its last full collection. */
export const HEAP_GROWING_PERCENT = 100;

/** An operator's own setting on Node's command line (NODE_OPTIONS does not take this flag). */
const OWN_SETTING = /^--heap[-_]growing[-_]percent(=|$)/;

/**
 * Sets this process's heap growth (HEAP_GROWING_PERCENT) unless it was
 * started with its own (`node --heap-growing-percent=N custody.cjs serve`).
 * Returns whether it set it. Process-wide and read at every full collection
 * from then on: for a program that is a node (`custody serve`), never for
 * a library.
 */
export function holdHeapNearLive(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((arg) => OWN_SETTING.test(arg))) return false;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}

/** Prometheus metrics of one node (its own registry, so two nodes in one process do not mix). */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  return {
    registry,
    treeSize: new Gauge({
      name: 'custody_tree_size',
      help: 'Size of the tree served (a mirror catching up in parts holds more)',
      registers: [registry],
    }),
    appended: new Counter({
      name: 'custody_appended_events_total',
      help: 'Events appended',
      registers: [registry],
    }),
    groupSize: new Histogram({
      name: 'custody_group_size',
      help: 'Submissions per group commit',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers: [registry],
    }),
    appendSeconds: new Histogram({
      name: 'custody_append_seconds',
      help: 'Time to admit, write (fsync) and sign one group',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2],
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'custody_refusals_total',
      help: 'Refused requests by error code',
      labelNames: ['code'],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'custody_queue_depth',
      help: 'Submissions waiting for a group',
      registers: [registry],
    }),
    heapLive: new Gauge({
      name: 'custody_heap_live_bytes',
      help: "V8's old generation in use after the last full collection (0 until the first): what the node keeps; steady growth is a leak",
      registers: [registry],
    }),
    loopUtilization: new Gauge({
      name: 'custody_event_loop_utilization',
      help: 'Share of the time since the last scrape the event loop spent running callbacks (0-1); every request waits its turn on it',
      registers: [registry],
    }),
    loopDelay: new Gauge({
      name: 'custody_event_loop_delay_seconds',
      help: 'How late a 10 ms timer ran since the last scrape: the median, 99th percentile and most (quantile 0.5, 0.99, 1)',
      labelNames: ['quantile'],
      registers: [registry],
    }),
    gcPauses: new Counter({
      name: 'custody_gc_pause_seconds_total',
      help: 'Time the event loop stood still for garbage collection, by kind (minor: scavenges; major: full collections and their steps)',
      labelNames: ['kind'],
      registers: [registry],
    }),
    loopThread: new Counter({
      name: 'custody_event_loop_thread_seconds_total',
      help: "Time the event loop's thread ran on a core (running) and waited for one while it had work (waiting); Linux only",
      labelNames: ['state'],
      registers: [registry],
    }),
    mirrorAlarm: new Gauge({
      name: 'custody_mirror_alarm',
      help: '1 if this mirror caught its source presenting an inconsistent checkpoint',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

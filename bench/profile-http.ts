/**
 * HTTP ingest alone, to profile the node (on the built bundle): node --import
 * tsx bench/profile-http.ts [profile-dir]. Starts `custody serve` (with
 * --cpu-prof when a profile directory is given: a profile a thread, the
 * node's the one whose name has thread id 1, after the process's main
 * thread's 0) on a benchmark ledger, posts 20,000 pre-signed events from 64 concurrent
 * clients (transfers of seven events in order, as the benchmark does), prints
 * the rate and each side's CPU time per event (the node's event loop's
 * thread apart), and stops the node. CUSTODY_BENCH_MALLOC=jemalloc preloads
 * jemalloc into the node (not into this process, the clients').
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, type SignedEvent, writeKeyFile } from '@custody/ledger';
import { HttpClient, postTransfers } from './http-client.js';
import { metric } from './metrics.js';
import { serveBench, stopped } from './serve.js';
import { benchLedger, groupOf } from './workload.js';

const root = mkdtempSync(join(tmpdir(), 'custody-http-'));
/** Where the node writes its CPU profile; without it, the node runs unprofiled. */
const profiles = process.argv[2];
const data = join(root, 'data');
mkdirSync(data);
const logPair = generateKeyPair('bench.custody.test/log');
await writeKeyFile(join(data, 'node.key'), logPair);
const { ledger, work } = await benchLedger(join(data, 'ledger'), logPair);
await ledger.close();

const events = groupOf(work, 20_000).events;
const transfers: string[][] = [];
for (let i = 0; i < events.length; i += 7) {
  transfers.push(events.slice(i, i + 7).map((e: SignedEvent) => JSON.stringify(e)));
}

const profiling = profiles === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profiles}`];
const { child, url } = await serveBench(
  data,
  profiling,
  [],
  process.env.CUSTODY_BENCH_MALLOC === 'jemalloc' ? 'jemalloc' : 'glibc',
);

/** CPU seconds (user + system) from a /proc stat file: a process's (all threads) or one thread's. */
const cpuSeconds = (statFile: string) => {
  const fields = readFileSync(statFile, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const http = new HttpClient(url);
const pid = child.pid as number;
/**
 * CPU seconds of the event loop's thread (the node's /metrics), which every
 * step of a request goes through, apart from the others: libuv's pool
 * (signatures, LevelDB's reads and writes), LevelDB's compaction, V8's GC
 * helpers, and the process's main thread, which only started the node's.
 */
const loopSeconds = async () => {
  const text = (await http.get('/metrics')).body.toString();
  return metric(text, 'custody_event_loop_thread_seconds_total{state="running"}') ?? Number.NaN;
};
const nodeCpu = cpuSeconds(`/proc/${pid}/stat`);
const loopCpu = await loopSeconds();
const clientCpu = process.cpuUsage();
const started = performance.now();
const accepted = (await postTransfers(http, transfers)).length;
const rate = accepted / ((performance.now() - started) / 1000);
const perEvent = (seconds: number) => `${((seconds * 1e6) / accepted).toFixed(0)} µs`;
const client = process.cpuUsage(clientCpu);
console.log(
  `${accepted} events, ${rate.toFixed(0)} events/s; CPU per event: node ${perEvent(cpuSeconds(`/proc/${pid}/stat`) - nodeCpu)} (event loop's thread ${perEvent((await loopSeconds()) - loopCpu)}), clients ${perEvent((client.user + client.system) / 1e6)}${profiles === undefined ? '' : `; profile in ${profiles}`}`,
);
http.close();
await stopped(child);
rmSync(root, { recursive: true, force: true });

/**
 * HTTP ingest alone, to profile the node (on the built bundle): node --import
 * tsx bench/profile-http.ts [profile-dir]. Starts `custody serve --cpu-prof`
 * on a benchmark ledger, posts 20,000 pre-signed events from 64 concurrent
 * clients (transfers of seven events in order, as the benchmark does), prints
 * the rate and stops the node, which writes its profile to profile-dir
 * (default: a temporary directory, printed).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, type SignedEvent, writeKeyFile } from '@custody/ledger';
import { benchLedger, groupOf } from './workload.js';

const root = mkdtempSync(join(tmpdir(), 'custody-http-'));
const profiles = process.argv[2] ?? join(root, 'profile');
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

const bin = join(import.meta.dirname, '../packages/cli/dist/bin.js');
const serve = ['serve', '--data', data, '--port', '0', '--rate-limit', '0'];
const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profiles}`, bin, ...serve], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise<string>((resolve) => {
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
    const listening = /listening on (http:\/\/\S+)/.exec(out);
    if (listening?.[1]) resolve(listening[1]);
  });
});

const started = performance.now();
let accepted = 0;
// Each client takes whole transfers so a transfer's events arrive in order.
const client = async () => {
  for (let transfer = transfers.pop(); transfer !== undefined; transfer = transfers.pop()) {
    for (const body of transfer) {
      const response = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      await response.arrayBuffer();
      if (response.status !== 201) throw new Error(`HTTP ${response.status}`);
      accepted++;
    }
  }
};
await Promise.all(Array.from({ length: 64 }, client));
const rate = accepted / ((performance.now() - started) / 1000);
console.log(`${accepted} events, ${rate.toFixed(0)} events/s; profile in ${profiles}`);
child.kill('SIGTERM');
await new Promise((resolve) => child.on('exit', resolve));

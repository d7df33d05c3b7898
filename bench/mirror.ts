/**
 * A new mirror's catch-up: `custody serve --mirror` in a process of its own
 * follows a node serving `data` (both on 127.0.0.1, on the same two cores)
 * from nothing until it serves the source's checkpoint.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpClient } from './http-client.js';
import { serveBench, stopped } from './serve.js';

/** VmRSS of a process, in bytes (Linux). */
const rssOf = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

export async function mirrorCatchUp(
  data: string,
  logVkey: string,
  size: number,
): Promise<{ rate: number; peakRss: number }> {
  const mirrorData = mkdtempSync(join(tmpdir(), 'custody-mirror-'));
  const source = await serveBench(data);
  try {
    const started = performance.now();
    const mirror = await serveBench(
      mirrorData,
      [],
      ['--mirror', source.url, '--log-key', logVkey, '--sync-interval', '100'],
    );
    const http = new HttpClient(mirror.url);
    let peakRss = 0;
    try {
      for (;;) {
        peakRss = Math.max(peakRss, rssOf(mirror.child.pid as number));
        const { status, body } = await http.get('/checkpoint');
        if (status === 200 && Number(body.toString().split('\n')[1]) >= size) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      return { rate: size / ((performance.now() - started) / 1000), peakRss };
    } finally {
      http.close();
      await stopped(mirror.child);
    }
  } finally {
    // Waited for: the bench opens the source's ledger next, and a closing node still holds it.
    await stopped(source.child);
    rmSync(mirrorData, { recursive: true, force: true });
  }
}

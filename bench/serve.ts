/** `custody serve` as a child process for the benchmark, on the built CLI. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Malloc, mallocEnv } from './own-process.js';

export const BIN = fileURLToPath(new URL('../packages/cli/dist/custody.cjs', import.meta.url));

/**
 * Starts a node on `data` (made by `custody init`) on a free port of
 * 127.0.0.1, with no rate limit; `nodeFlags` go to Node itself (e.g.
 * --cpu-prof), `serveFlags` to `custody serve` (e.g. --mirror), and it runs
 * with `malloc`. Resolves with the process and the address it listens on.
 */
export function serveBench(
  data: string,
  nodeFlags: readonly string[] = [],
  serveFlags: readonly string[] = [],
  malloc: Malloc = 'glibc',
): Promise<{ child: ChildProcess; url: string }> {
  const args = [
    ...nodeFlags,
    BIN,
    'serve',
    '--data',
    data,
    '--port',
    '0',
    '--rate-limit',
    '0',
    ...serveFlags,
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: mallocEnv(malloc),
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const read = (chunk: Buffer) => {
      out += chunk;
      const listening = /listening on (http:\/\/\S+)/.exec(out);
      if (listening?.[1] === undefined) return;
      child.stdout?.off('data', read).resume();
      child.off('exit', early);
      resolve({ child, url: listening[1] });
    };
    const early = (code: number | null) =>
      reject(new Error(`custody serve exited with ${code} before listening`));
    child.stdout?.on('data', read);
    child.once('exit', early);
  });
}

/**
 * Stops a node started by serveBench (SIGTERM: it closes its ledger) and
 * resolves once it has exited, so that its ledger can be opened again.
 */
export function stopped(node: ChildProcess): Promise<void> {
  if (node.exitCode !== null || node.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => node.once('exit', () => resolve()));
  node.kill('SIGTERM');
  return exited;
}

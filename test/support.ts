/**
 * End-to-end support: the built `custody` binary run as a user would, and
 * nodes started with `custody serve` as child processes on 127.0.0.1.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair, type KeyPair, readKeyFile, type SignedEvent, signEvent } from '@custody/ledger';
import { afterAll, expect } from 'vitest';
import { FastSigner } from '../bench/workload.js';

export const BIN = fileURLToPath(new URL('../packages/cli/dist/custody.cjs', import.meta.url));

// What a test file started or made, undone when its tests end. Registered
// here, while the file is collected: vitest ignores a hook registered inside
// a running test, so a test that fails or times out before stopping its node
// would leave it running (found twice).
const nodes = new Set<ChildProcess>();
const dirs = new Set<string>();
afterAll(() => {
  for (const child of nodes) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'custody-e2e-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `custody ARGS`; a private config folder keeps trust pins per test file. */
export function custody(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 90_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 99;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Like `custody`, with --json, parsing stdout. */
export async function custodyJson<T = Record<string, unknown>>(
  args: string[],
  env: Record<string, string> = {},
): Promise<Run & { json: T }> {
  const run = await custody([...args, '--json'], env);
  let json: T;
  try {
    json = JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(
      `custody ${args.join(' ')} --json printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`,
    );
  }
  return { ...run, json };
}

export interface Served {
  readonly url: string;
  readonly child: ChildProcess;
  /** Sends a signal and resolves with the exit code and what it printed. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; stdout: string }>;
}

/** Starts `custody serve --data DIR --port 0` and waits for it to listen. */
export function serveNode(
  dataDir: string,
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<Served> {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--data', dataDir, '--port', '0', '--rate-limit', '0', ...extra],
    {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  nodes.add(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`custody serve did not start:\n${stdout}\n${stderr}`));
    }, 20_000);
    const poll = setInterval(() => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (m?.[1] === undefined) return;
      clearInterval(poll);
      clearTimeout(timer);
      resolve({
        url: m[1],
        child,
        stop: async (signal = 'SIGTERM') => {
          child.kill(signal);
          return { code: await exited, stdout };
        },
      });
    }, 20);
    exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`custody serve exited with ${code}:\n${stdout}\n${stderr}`));
    });
  });
}

let counter = 0;
const signers = new WeakMap<KeyPair, FastSigner>();
/**
 * A fresh `item.report` by `key` about a new serial: valid alone, with no
 * chain to follow. Signed with OpenSSL (the same bytes as signEvent, ten
 * times as fast): the load test signs a minute's worth of events.
 */
export function report(key: KeyPair): SignedEvent {
  let signer = signers.get(key);
  if (signer === undefined) {
    signer = new FastSigner(key);
    signers.set(key, signer);
  }
  return signer.sign({
    type: 'item.report',
    id: `load-${process.pid}-${++counter}`,
    time: new Date().toISOString(),
    prev: null,
    subject: { serials: [`LOAD-${counter}`] },
    body: { kind: 'lost', reference: `case ${counter}` },
  });
}

/** POSTs an event; throws (a TypeError from fetch) only if the node is not there. */
export async function post(
  url: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

/** A fresh ledger (custody init) with a registered manufacturer, served by custody serve. */
/** `env` goes to the node's process (e.g. NODE_OPTIONS). */
export async function setup(env: Record<string, string> = {}) {
  const dir = join(tempDir(), 'data');
  const init = await custodyJson<{ logKey: string }>([
    'init',
    '--data',
    dir,
    '--origin',
    'load.custody.test/log',
  ]);
  expect(init.code).toBe(0);
  const node = await serveNode(dir, [], env);
  const registrar = await readKeyFile(join(dir, 'registrar.key'));
  const acme = generateKeyPair('ACME');
  const reg = signEvent(
    {
      type: 'party.register',
      id: `reg-${process.pid}-acme`,
      time: new Date().toISOString(),
      prev: null,
      subject: { party: 'ACME' },
      body: { name: 'Acme', roles: ['manufacturer'], country: 'DE', keys: [acme.vkey] },
    },
    registrar,
  );
  expect((await post(node.url, reg)).status).toBe(201);
  return { dir, node, acme, logKey: init.json.logKey };
}

/** Federation pieces with real processes: a node that witnesses another log. */
import { join } from 'node:path';
import {
  addSignatures,
  cosignatureVerifier,
  ed25519Verifier,
  openCheckpoint,
  parseNote,
} from '@custody/ledger';
import { expect, test } from 'vitest';
import { custody, custodyJson, serveNode, tempDir } from './support.js';

test('custody serve --witness-key cosigns another log’s checkpoints, and remembers across a restart', async () => {
  const root = tempDir();
  const log = await custodyJson<{ logKey: string }>([
    'init',
    '--data',
    join(root, 'log'),
    '--origin',
    'log.custody.test/a',
  ]);
  await custodyJson(['init', '--data', join(root, 'witness'), '--origin', 'witness.custody.test/node']);
  const key = await custodyJson<{ vkey: string }>([
    'keygen',
    '--name',
    'witness.custody.test/w1',
    '--out',
    join(root, 'w1.key'),
    '--witness',
  ]);
  const logNode = await serveNode(join(root, 'log'));
  const witnessArgs = ['--witness-key', join(root, 'w1.key'), '--witness-log', log.json.logKey];
  let witness = await serveNode(join(root, 'witness'), witnessArgs);
  const checkpoint = await (await fetch(`${logNode.url}/checkpoint`)).text();
  const add = (old: number) =>
    fetch(`${witness.url}/add-checkpoint`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: `old ${old}\n\n${checkpoint}`,
    });

  const answer = await add(0);
  expect(answer.status).toBe(200);
  const cosigned = addSignatures(checkpoint, parseNote(`x\n\n${await answer.text()}`).signatures);
  const opened = openCheckpoint(cosigned, ed25519Verifier(log.json.logKey), {
    witnesses: [cosignatureVerifier(key.json.vkey)],
  });
  expect(opened.cosignatures.map((c) => c.name)).toEqual(['witness.custody.test/w1']);

  expect((await witness.stop()).code).toBe(0);
  witness = await serveNode(join(root, 'witness'), witnessArgs);
  const again = await add(0);
  expect({ status: again.status, type: again.headers.get('content-type'), body: await again.text() }).toEqual(
    {
      status: 409,
      type: 'text/x.tlog.size',
      body: `${opened.checkpoint.size}\n`,
    },
  );
  const unknown = await fetch(`${witness.url}/add-checkpoint`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: `old 0\n\n${await (await fetch(`${witness.url}/checkpoint`)).text()}`,
  });
  expect(unknown.status).toBe(404);
  await witness.stop();
  await logNode.stop();
});

test('a log served with --cosigner hands out cosigned checkpoints: custody verify --quorum 1 passes, --quorum 2 does not', async () => {
  const root = tempDir();
  const env = { CUSTODY_CONFIG_DIR: join(root, 'config') };
  const log = await custodyJson<{ logKey: string }>(
    ['init', '--data', join(root, 'log'), '--origin', 'log.custody.test/b'],
    env,
  );
  await custodyJson(['init', '--data', join(root, 'witness'), '--origin', 'witness.custody.test/host'], env);
  const w1 = await custodyJson<{ vkey: string }>(
    ['keygen', '--name', 'witness.custody.test/w1', '--out', join(root, 'w1.key'), '--witness'],
    env,
  );
  const w2 = await custodyJson<{ vkey: string }>(
    ['keygen', '--name', 'witness.custody.test/w2', '--out', join(root, 'w2.key'), '--witness'],
    env,
  );
  const witness = await serveNode(join(root, 'witness'), [
    '--witness-key',
    join(root, 'w1.key'),
    '--witness-log',
    log.json.logKey,
  ]);
  const node = await serveNode(join(root, 'log'), ['--cosigner', `${witness.url}=${w1.json.vkey}`]);
  const at = ['--node', node.url];
  await makeItems(root, join(root, 'log', 'registrar.key'), node.url, 'SN-1,SN-2', env);

  const one = await custody(
    ['verify', 'SN-1', '--log-key', log.json.logKey, '--witness', w1.json.vkey, '--quorum', '1', ...at],
    env,
  );
  expect(one.code).toBe(0);
  expect(one.stdout).toContain('✓ witness quorum: 1 valid witness cosignature(s), 1 required');
  const two = await custody(
    [
      'verify',
      'SN-1',
      '--log-key',
      log.json.logKey,
      '--witness',
      w1.json.vkey,
      '--witness',
      w2.json.vkey,
      '--quorum',
      '2',
      ...at,
    ],
    env,
  );
  expect(two.code).toBe(2);
  expect(two.stdout).toContain('✗ witness quorum: 1 valid witness cosignature(s), 2 required');
  await node.stop();
  await witness.stop();
});

/** A port that was free a moment ago, for nodes that must know each other's address before starting. */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const json = async <T>(url: string): Promise<T> => (await fetch(url)).json() as Promise<T>;

test('a primary and two mirrors that witness it: mirrored, cosigned twice, verified with a quorum of 2, tiles identical', async () => {
  const root = tempDir();
  const env = { CUSTODY_CONFIG_DIR: join(root, 'config') };
  const log = await custodyJson<{ logKey: string }>(
    ['init', '--data', join(root, 'primary'), '--origin', 'fed.custody.test/log'],
    env,
  );
  const keys = [];
  for (const w of ['w1', 'w2']) {
    keys.push(
      (
        await custodyJson<{ vkey: string }>(
          ['keygen', '--name', `fed.custody.test/${w}`, '--out', join(root, `${w}.key`), '--witness'],
          env,
        )
      ).json.vkey,
    );
  }
  const ports = [await freePort(), await freePort()];
  const primary = await serveNode(
    join(root, 'primary'),
    keys.flatMap((k, i) => ['--cosigner', `http://127.0.0.1:${ports[i]}=${k}`]),
  );
  const mirrors = [];
  for (const [i, port] of ports.entries()) {
    mirrors.push(
      await serveNode(join(root, `mirror${i + 1}`), [
        '--mirror',
        primary.url,
        '--log-key',
        log.json.logKey,
        '--sync-interval',
        '100',
        '--witness-key',
        join(root, `w${i + 1}.key`),
        '--witness-log',
        log.json.logKey,
        '--port',
        String(port),
      ]),
    );
  }
  const at = ['--node', primary.url];
  await makeItems(root, join(root, 'primary', 'registrar.key'), primary.url, 'SN-1,SN-2', env);

  const size = (await json<{ size: number }>(`${primary.url}/healthz`)).size;
  for (const m of mirrors) {
    await until(
      async () => (await json<{ size: number }>(`${m.url}/healthz`)).size === size,
      'the mirrors to catch up',
    );
  }
  const checkpoint = await (await fetch(`${primary.url}/v1/checkpoint`)).text();
  expect(checkpoint.split('\n').filter((l) => l.startsWith('— fed.custody.test/w'))).toHaveLength(2);

  const quorum = [
    '--log-key',
    log.json.logKey,
    '--witness',
    keys[0] as string,
    '--witness',
    keys[1] as string,
    '--quorum',
    '2',
  ];
  expect((await custody(['verify', 'SN-1', ...quorum, ...at], env)).code).toBe(0);
  expect((await custody(['audit', ...quorum, ...at], env)).code).toBe(0);
  // The same policy as a C2SP tlog-policy file.
  const policy = join(root, 'policy.txt');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(
    policy,
    `log ${log.json.logKey}\nwitness w1 ${keys[0]}\nwitness w2 ${keys[1]}\ngroup both 2 w1 w2\nquorum both\n`,
  );
  expect((await custody(['verify', 'SN-1', '--policy', policy, ...at], env)).code).toBe(0);
  for (const m of mirrors) {
    await until(
      async () => (await (await fetch(`${m.url}/checkpoint`)).text()) === checkpoint,
      'the mirror to serve the cosigned checkpoint',
    );
    expect((await custody(['verify', 'SN-2', ...quorum, '--node', m.url], env)).code).toBe(0);
    for (const path of [`/tile/0/000.p/${size}`, `/tile/entries/000.p/${size}`]) {
      const [a, b] = await Promise.all([fetch(primary.url + path), fetch(m.url + path)]);
      expect(Buffer.from(await b.arrayBuffer()).equals(Buffer.from(await a.arrayBuffer()))).toBe(true);
    }
    const write = await fetch(`${m.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const refusal = (await write.json()) as { code: string; message: string };
    expect({
      status: write.status,
      code: refusal.code,
      names: refusal.message.includes(primary.url),
    }).toEqual({ status: 403, code: 'CUSTODY_READ_ONLY', names: true });
  }
  for (const node of [primary, ...mirrors]) await node.stop();
});

test('a forked log: the witness refuses the fork, the mirror stops and keeps both checkpoints, verify with a quorum says invalid', async () => {
  const root = tempDir();
  const env = { CUSTODY_CONFIG_DIR: join(root, 'config') };
  const log = await custodyJson<{ logKey: string }>(
    ['init', '--data', join(root, 'a'), '--origin', 'fork.custody.test/log'],
    env,
  );
  const w1 = (
    await custodyJson<{ vkey: string }>(
      ['keygen', '--name', 'fork.custody.test/w1', '--out', join(root, 'w1.key'), '--witness'],
      env,
    )
  ).json.vkey;
  const registrar = join(root, 'a', 'registrar.key');
  const report = (node: string, kind: string) =>
    custody(
      [
        'report',
        '--key',
        join(root, 'acme.key'),
        '--serials',
        'SN-1',
        '--kind',
        kind,
        '--reference',
        `${kind} report`,
        '--node',
        node,
      ],
      env,
    );

  // The common history: entries 0..2.
  let a = await serveNode(join(root, 'a'));
  await makeItems(root, registrar, a.url, 'SN-1', env);
  await a.stop();
  const { cp } = await import('node:fs/promises');
  await cp(join(root, 'a'), join(root, 'b'), { recursive: true });

  // One witness, one mirror; A grows one way and is witnessed and mirrored.
  await custodyJson(['init', '--data', join(root, 'witness-host'), '--origin', 'host.custody.test/log'], env);
  const witness = await serveNode(join(root, 'witness-host'), [
    '--witness-key',
    join(root, 'w1.key'),
    '--witness-log',
    log.json.logKey,
  ]);
  a = await serveNode(join(root, 'a'), ['--cosigner', `${witness.url}=${w1}`]);
  expect((await report(a.url, 'lost')).code).toBe(0);
  let mirror = await serveNode(join(root, 'mirror'), [
    '--mirror',
    a.url,
    '--log-key',
    log.json.logKey,
    '--sync-interval',
    '100',
  ]);
  const aCheckpoint = await (await fetch(`${a.url}/checkpoint`)).text();
  await until(
    async () => (await (await fetch(`${mirror.url}/checkpoint`)).text()) === aCheckpoint,
    'the mirror to follow A',
  );
  await mirror.stop();
  await a.stop();

  // B, with the same key and origin, grows another way.
  const b = await serveNode(join(root, 'b'), ['--cosigner', `${witness.url}=${w1}`]);
  expect((await report(b.url, 'stolen')).code).toBe(0);
  const bCheckpoint = await (await fetch(`${b.url}/checkpoint`)).text();
  expect(bCheckpoint).not.toContain('— fork.custody.test/w1'); // the witness refused to cosign the fork

  // The mirror, pointed at B, sees a second tree of the same size: alarm, evidence, no following.
  mirror = await serveNode(join(root, 'mirror'), [
    '--mirror',
    b.url,
    '--log-key',
    log.json.logKey,
    '--sync-interval',
    '100',
  ]);
  await until(
    async () => (await json<{ status: string }>(`${mirror.url}/healthz`)).status === 'alarm',
    'the mirror alarm',
  );
  const health = await json<{
    mirror: { following: boolean; alarm: { reason: string; accepted: string; presented: string } };
  }>(`${mirror.url}/healthz`);
  expect(health.mirror.following).toBe(false);
  expect(health.mirror.alarm.reason).toMatch(/forked/);
  expect([health.mirror.alarm.accepted, health.mirror.alarm.presented]).toEqual([aCheckpoint, bCheckpoint]);
  const { readFile } = await import('node:fs/promises');
  expect(JSON.parse(await readFile(join(root, 'mirror', 'mirror-evidence.json'), 'utf8')).presented).toBe(
    bCheckpoint,
  );
  expect(await (await fetch(`${mirror.url}/metrics`)).text()).toMatch(/custody_mirror_alarm 1/);
  expect(await (await fetch(`${mirror.url}/checkpoint`)).text()).toBe(aCheckpoint); // still serves what it verified

  // A client that demands the witness: B's history is invalid.
  const fresh = { CUSTODY_CONFIG_DIR: join(root, 'fresh-config') };
  const verdict = await custody(
    ['verify', 'SN-1', '--node', b.url, '--log-key', log.json.logKey, '--witness', w1, '--quorum', '1'],
    fresh,
  );
  expect(verdict.code).toBe(2);
  expect(verdict.stdout).toContain('✗ witness quorum');
  const audit = await custody(
    ['audit', '--node', b.url, '--log-key', log.json.logKey, '--witness', w1, '--quorum', '1'],
    fresh,
  );
  expect({
    code: audit.code,
    why: audit.stdout.includes('0 valid witness cosignature(s), 1 required'),
  }).toEqual({ code: 2, why: true });
  for (const node of [mirror, b, witness]) await node.stop();
});

/** Registers ACME as a manufacturer (its key in ROOT/acme.key) on the node, and has it make SERIALS. */
async function makeItems(
  root: string,
  registrarKey: string,
  node: string,
  serials: string,
  env: Record<string, string>,
) {
  const acme = await custodyJson<{ vkey: string }>(
    ['keygen', '--name', 'ACME', '--out', join(root, 'acme.key')],
    env,
  );
  const ok = async (args: string[]) => expect((await custody([...args, '--node', node], env)).code).toBe(0);
  await ok([
    'party',
    'register',
    '--key',
    registrarKey,
    '--id',
    'ACME',
    '--name',
    'Acme',
    '--roles',
    'manufacturer',
    '--country',
    'DE',
    '--vkey',
    acme.json.vkey,
  ]);
  await ok([
    'manufacture',
    '--key',
    join(root, 'acme.key'),
    '--serials',
    serials,
    '--make',
    'Acme',
    '--model',
    'G36',
    '--category',
    'rifle',
    '--calibre',
    '5.56',
    '--site',
    'Oberndorf',
    '--marking-country',
    'DE',
  ]);
}

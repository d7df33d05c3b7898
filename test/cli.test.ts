/**
 * Every user's job from the terminal, with the real binary against a live
 * node: the clean transfer, three diversions, refusals, offline verification,
 * tampering, and a log that rolled back.
 */
import { spawn } from 'node:child_process';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ed25519Signer, generateSecretKey, signCheckpoint } from '@custody/ledger';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BIN, custody, custodyJson, type Served, serveNode, tempDir } from './support.js';

const root = tempDir();
const data = join(root, 'data');
const env = { CUSTODY_CONFIG_DIR: join(root, 'config') };
const registrarKey = join(data, 'registrar.key');
let node: Served;
let logKey: string;

const keyOf = (party: string) => join(root, `${party}.key`);
/** custody with the node, the config folder and the party's key. */
const as = (party: string | undefined, args: string[]) =>
  custody(
    [
      ...args,
      '--node',
      node.url,
      ...(party === undefined ? [] : ['--key', party === 'REGISTRAR' ? registrarKey : keyOf(party)]),
    ],
    env,
  );

async function ok(run: Promise<{ code: number; stdout: string; stderr: string }>) {
  const r = await run;
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

const PARTIES: [string, string, string][] = [
  ['ACME', 'manufacturer', 'DE'],
  ['EXPORTCO', 'exporter', 'DE'],
  ['DE-BAFA', 'licensing-authority', 'DE'],
  ['KE-NCC', 'licensing-authority', 'KE'],
  ['DE-CUSTOMS', 'customs', 'DE'],
  ['NL-CUSTOMS', 'customs', 'NL'],
  ['PL-CUSTOMS', 'customs', 'PL'],
  ['KE-POLICE', 'consignee', 'KE'],
  ['KE-BROKER', 'consignee', 'KE'],
];

const serialRange = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(4, '0')}`);

/** One transfer through the CLI; `divert` changes a step. */
async function transfer(
  name: string,
  serials: string[],
  divert: { via?: [string, string, string]; consignee?: string; before?: () => Promise<void> } = {},
) {
  const csv = join(root, `${name}.csv`);
  await writeFile(csv, `serial\n${serials.join('\n')}\n`);
  const licence = `DE-L-${name}`;
  await ok(
    as('ACME', [
      'manufacture',
      '--csv',
      csv,
      '--make',
      'Acme',
      '--model',
      'G36',
      '--category',
      'assault rifle',
      '--calibre',
      '5.56x45mm',
      '--site',
      'Oberndorf',
      '--marking-country',
      'DE',
      '--year',
      '2026',
      '--holder',
      'EXPORTCO',
    ]),
  );
  const euc = join(root, `${name}-euc.pdf`);
  await writeFile(euc, `end-user certificate for ${name}`);
  await ok(
    as('DE-BAFA', [
      'licence',
      'issue',
      '--licence',
      licence,
      '--exporter',
      'EXPORTCO',
      '--consignee',
      'KE-POLICE',
      '--end-user',
      'Kenya National Police Service',
      '--item',
      `G36:assault rifle:${serials.length}`,
      '--route',
      'NL',
      '--valid-from',
      '2025-01-01',
      '--valid-until',
      '2027-12-31',
      '--end-use',
      'law enforcement',
      '--euc-number',
      `EUC-${name}`,
      '--euc-issuer',
      'KE Ministry of Interior',
      '--euc-issued',
      '2026-01-10',
      '--euc-expires',
      '2027-12-31',
      '--euc-document',
      euc,
      '--delivery-verification',
      '--no-reexport',
    ]),
  );
  await divert.before?.();
  await ok(
    as('EXPORTCO', [
      'dispatch',
      '--shipment',
      `SHP-${name}`,
      '--licence',
      licence,
      '--csv',
      csv,
      '--from',
      'DEHAM',
      '--to',
      'KEMBA',
      '--seal',
      'S-1',
    ]),
  );
  await ok(
    as('DE-CUSTOMS', [
      'transit',
      '--shipment',
      `SHP-${name}`,
      '--location',
      'DEHAM',
      '--country',
      'DE',
      '--direction',
      'exit',
    ]),
  );
  const [customs, country, location] = divert.via ?? ['NL-CUSTOMS', 'NL', 'NLRTM'];
  await ok(
    as(customs, [
      'transit',
      '--shipment',
      `SHP-${name}`,
      '--location',
      location,
      '--country',
      country,
      '--direction',
      'transshipment',
      '--inspected',
      '--sighted',
      serials.slice(0, 2).join(','),
    ]),
  );
  await ok(
    as(divert.consignee ?? 'KE-POLICE', [
      'deliver',
      '--shipment',
      `SHP-${name}`,
      '--location',
      'KEMBA',
      '--csv',
      csv,
    ]),
  );
  await ok(
    as('KE-NCC', [
      'verify-delivery',
      '--shipment',
      `SHP-${name}`,
      '--csv',
      csv,
      '--method',
      'on-site',
      '--end-use',
      'confirmed',
    ]),
  );
}

beforeAll(async () => {
  const init = await custodyJson<{ logKey: string }>(
    ['init', '--data', data, '--origin', 'e2e.custody.test/log'],
    env,
  );
  expect(init.code).toBe(0);
  logKey = init.json.logKey;
  node = await serveNode(data);
  for (const [id, role, country] of PARTIES) {
    const key = await custodyJson<{ vkey: string }>(['keygen', '--name', id, '--out', keyOf(id)], env);
    await ok(
      as('REGISTRAR', [
        'party',
        'register',
        '--id',
        id,
        '--name',
        `${id} office`,
        '--roles',
        role,
        '--country',
        country,
        '--vkey',
        key.json.vkey,
      ]),
    );
  }
});

afterAll(async () => {
  if (node.child.exitCode === null) await node.stop();
});

describe('the clean transfer', () => {
  test('recorded by each party with its own key, and verified by an investigator: exit 0, CLEAN', async () => {
    await transfer('clean', serialRange('SN-C', 100));
    const human = await as(undefined, ['verify', 'SN-C0042', '--log-key', logKey]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('Verdict: CLEAN');
    expect(human.stdout).toMatch(/✓ inclusion proofs: \d+ entries proven/);
    expect(human.stdout).toContain('first verification of e2e.custody.test/log');
    const json = await custodyJson<{ verdict: string; flags: unknown[]; timeline: { type: string }[] }>(
      ['verify', 'SN-C0042', '--node', node.url, '--log-key', logKey],
      env,
    );
    expect(json.code).toBe(0);
    expect(json.json.verdict).toBe('clean');
    expect(json.json.timeline.map((t) => t.type)).toEqual([
      'item.manufacture',
      'licence.issue',
      'shipment.dispatch',
      'shipment.transit',
      'shipment.transit',
      'shipment.deliver',
      'delivery.verify',
    ]);
    const history = await as(undefined, ['history', 'SN-C0042']);
    expect(history.stdout).toContain('shipment.deliver');
    expect(history.stdout).toContain('not verified; use custody verify');
  });

  test('bulk manufacture splits 100,000 serials from a CSV file into events that fit the log', async () => {
    const csv = join(root, 'bulk.csv');
    await writeFile(csv, `serial\n${serialRange('BULK-', 100_000).join('\n')}\n`);
    const r = await custodyJson<{ event: { subject: { serials: string[] } } }[]>(
      [
        'manufacture',
        '--csv',
        csv,
        '--make',
        'Acme',
        '--model',
        'P8',
        '--category',
        'pistol',
        '--calibre',
        '9mm',
        '--site',
        'Oberndorf',
        '--node',
        node.url,
        '--key',
        keyOf('ACME'),
      ],
      env,
    );
    expect(r.code).toBe(0);
    expect(r.json.length).toBeGreaterThan(1);
    expect(r.json.reduce((n, s) => n + s.event.subject.serials.length, 0)).toBe(100_000);
  });
});

describe('diverted transfers: exit 1, FLAGGED, with the flag named', () => {
  test('a transit through Poland, off the licensed route → ROUTE_DEVIATION', async () => {
    await transfer('route', serialRange('SN-R', 5), { via: ['PL-CUSTOMS', 'PL', 'PLGDN'] });
    const r = await custodyJson<{ verdict: string; flags: { code: string }[] }>(
      ['verify', 'SN-R0001', '--node', node.url],
      env,
    );
    expect({ code: r.code, verdict: r.json.verdict, flags: r.json.flags.map((f) => f.code) }).toEqual({
      code: 1,
      verdict: 'flagged',
      flags: ['ROUTE_DEVIATION'],
    });
    const human = await as(undefined, ['verify', 'SN-R0001']);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(
      /ROUTE_DEVIATION \(high, entries [\d, ]+\): shipment SHP-route passed through PL/,
    );
    expect(human.stdout).toContain('Verdict: FLAGGED');
  });

  test('delivered to a broker instead of the licensed consignee → CONSIGNEE_MISMATCH', async () => {
    await transfer('broker', serialRange('SN-K', 5), { consignee: 'KE-BROKER' });
    const r = await custodyJson<{ flags: { code: string }[] }>(
      ['verify', 'SN-K0003', '--node', node.url],
      env,
    );
    expect({ code: r.code, flags: r.json.flags.map((f) => f.code) }).toEqual({
      code: 1,
      flags: ['CONSIGNEE_MISMATCH'],
    });
  });

  test('an item reported destroyed, then shipped → AFTER_TERMINAL', async () => {
    await transfer('ghost', serialRange('SN-G', 5), {
      before: async () => {
        await ok(
          as('ACME', ['report', '--serials', 'SN-G0004', '--kind', 'destroyed', '--reference', 'QA-scrap-1']),
        );
      },
    });
    const r = await custodyJson<{ flags: { code: string }[] }>(
      ['verify', 'SN-G0004', '--node', node.url],
      env,
    );
    expect({ code: r.code, flags: r.json.flags.map((f) => f.code) }).toEqual({
      code: 1,
      flags: ['AFTER_TERMINAL'],
    });
  });
});

describe('refusals and usage errors: exit 3 with the node’s reason', () => {
  test('a customs officer cannot issue a licence; a missing option is a usage error; a dead node is a connection error', async () => {
    const refused = await as('DE-CUSTOMS', [
      'licence',
      'suspend',
      '--licence',
      'DE-L-clean',
      '--reason',
      'not mine',
    ]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/CUSTODY_ROLE_NOT_ALLOWED/);
    const json = await custodyJson<{ error: { code: string } }>(
      [
        'licence',
        'suspend',
        '--licence',
        'DE-L-clean',
        '--reason',
        'x',
        '--node',
        node.url,
        '--key',
        keyOf('DE-CUSTOMS'),
      ],
      env,
    );
    expect({ code: json.code, error: json.json.error.code }).toEqual({
      code: 3,
      error: 'CUSTODY_ROLE_NOT_ALLOWED',
    });
    expect((await custody(['dispatch', '--shipment', 'X'], env)).code).toBe(3);
    const unknown = await custody(['history', 'SN-NOPE', '--node', node.url], env);
    expect({ code: unknown.code, says: unknown.stderr.trim() }).toEqual({
      code: 3,
      says: 'custody: nothing in the log about serial:SN-NOPE (the node answered 404 CUSTODY_NOT_FOUND)',
    });
    const closed = await freePort();
    const dead = await custody(['history', 'SN-C0001', '--node', `http://127.0.0.1:${closed}`], env);
    expect({ code: dead.code, says: dead.stderr.trim() }).toEqual({
      code: 3,
      says: `custody: cannot reach the node at http://127.0.0.1:${closed} (connection refused: nothing listens there); start one with "custody serve" or pass --node`,
    });
    const blocked = await custody(['history', 'SN-C0001', '--node', 'http://127.0.0.1:9'], env);
    expect(blocked.stderr).toContain('(fetch will not connect to a port browsers block; choose another)');
    expect((await custody(['--help'])).code).toBe(0);
    expect((await custody(['verify', '--help'])).stdout).toContain(
      'Exit codes: 0 clean, 1 flagged, 2 invalid',
    );
  });

  test('a field the event cannot hold is named by the option that set it, and nothing is sent', async () => {
    const size = async () => (await (await fetch(`${node.url}/v1/checkpoint`)).text()).split('\n')[1];
    const before = await size();
    const made = await custodyJson<{ vkey: string }>(
      ['keygen', '--name', 'FR-X', '--out', join(root, 'fr-x.key')],
      env,
    );
    const register = (country: string, roles: string) =>
      as('REGISTRAR', [
        'party',
        'register',
        '--id',
        'FR-X',
        '--name',
        'Douane',
        '--roles',
        roles,
        '--country',
        country,
        '--vkey',
        made.json.vkey,
      ]);
    const country = await register('fr', 'customs');
    expect({ code: country.code, says: country.stderr.trim() }).toEqual({
      code: 3,
      says: `custody: --country: the event's body.country must match pattern "^[A-Z]{2}$"; nothing was sent`,
    });
    const roles = await register('FR', 'customz');
    expect(roles.stderr.trim()).toBe(
      "custody: --roles: the event's body.roles.0 must be equal to one of the allowed values; nothing was sent",
    );
    const since = await as('REGISTRAR', [
      'party',
      'revoke-key',
      '--party',
      'DE-CUSTOMS',
      '--key-id',
      '1a2b3c4d',
      '--reason',
      'test',
      '--compromised-since',
      'yesterday',
    ]);
    expect({ code: since.code, option: since.stderr.startsWith('custody: --compromised-since: ') }).toEqual({
      code: 3,
      option: true,
    });
    expect(await size()).toBe(before);
  });

  test('setup mistakes are named for what they are, and change nothing', async () => {
    const folder = join(root, 'setup-mistakes');
    expect((await custody(['init', '--data', folder, '--origin', 'mistakes.test/log'], env)).code).toBe(0);
    const before = await readdir(folder);
    const again = await custodyJson<{ error: { code: string; message: string } }>(
      ['init', '--data', folder, '--origin', 'mistakes.test/log'],
      env,
    );
    expect({ code: again.code, error: again.json.error.code }).toEqual({
      code: 3,
      error: 'CUSTODY_LEDGER_EXISTS',
    });
    expect(again.json.error.message).toContain(`serve it with "custody serve --data ${folder}"`);
    expect(await readdir(folder)).toEqual(before);
    const none = await custody(['serve', '--data', join(root, 'no-such-folder'), '--port', '0'], env);
    expect({ code: none.code, says: none.stderr.includes('no ledger in') }).toEqual({ code: 3, says: true });
    const port = await custody(['serve', '--data', folder, '--port', '99999'], env);
    expect({ code: port.code, says: port.stderr.trim() }).toEqual({
      code: 3,
      says: 'custody: --port must be a whole number from 0 to 65535',
    });
    const badYear = await custody(
      [
        'manufacture',
        '--serials',
        'X-1',
        '--make',
        'A',
        '--model',
        'B',
        '--category',
        'C',
        '--calibre',
        'D',
        '--site',
        'E',
        '--year',
        'abc',
      ],
      env,
    );
    expect({ code: badYear.code, says: badYear.stderr.trim() }).toEqual({
      code: 3,
      says: 'custody: --year must be a year, e.g. 2026, not "abc"',
    });
    const help = await custody(['licence', 'issue', '--help']);
    expect(help.stdout).toContain('a licensed item line (repeatable)\n');
    const url = await custody(['history', 'SN-C0001', '--node', 'localhost:8080'], env);
    expect({
      code: url.code,
      says: url.stderr.includes("--node: localhost:8080 is not a node's address"),
    }).toEqual({
      code: 3,
      says: true,
    });
    const key = await custody(
      ['keygen', '--name', 'X-1', '--out', join(root, 'no-such-folder', 'x.key')],
      env,
    );
    expect({ code: key.code, says: key.stderr.trim() }).toEqual({
      code: 3,
      says: `custody: cannot write ${join(root, 'no-such-folder', 'x.key')}: its folder does not exist`,
    });
    // A key made well ends with the registrar's command, the party's id and key filled in.
    const made = await custody(['keygen', '--name', 'X-2', '--out', join(root, 'x-2.key')], env);
    const vkey = /Public key: (\S+)/.exec(made.stdout)?.[1];
    expect(made.stdout).toContain(
      `custody party register --id X-2 --name "…" --roles … --country … --vkey ${vkey}`,
    );
    const quorum = await custody(['verify', 'SN-C0001', '--quorum', '2'], env);
    expect({ code: quorum.code, says: quorum.stderr.trim() }).toEqual({
      code: 3,
      says: 'custody: a quorum of 2 needs at least 2 witness keys; 0 given (--witness, or witness lines in --policy)',
    });
  });
});

describe('offline, tampered and rolled back', () => {
  let bundleFile: string;

  test('bundle export, then verify --bundle with the node stopped', async () => {
    bundleFile = join(root, 'SN-C0007.custody-bundle.json');
    await ok(as(undefined, ['bundle', 'export', 'SN-C0007', '--out', bundleFile, '--log-key', logKey]));
    const before = join(root, 'data-before');
    const stopped = await node.stop();
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain('stopped on SIGTERM');
    await cp(data, before, { recursive: true });
    const offline = await custody(['verify', '--bundle', bundleFile, '--log-key', logKey], env);
    expect(offline.code).toBe(0);
    expect(offline.stdout).toContain('Verdict: CLEAN');
    node = await serveNode(data);
  });

  test('a bundle changed by one byte of a leaf, a proof or the checkpoint: exit 2, saying what broke', async () => {
    const text = await readFile(bundleFile, 'utf8');
    const leafAt = text.indexOf('"leaf":"') + 20;
    const proofAt = text.indexOf('\\nindex ', text.indexOf('"proof":"')) + 14;
    const rootAt = text.indexOf('\\n', text.indexOf('\\n', text.indexOf('"checkpoint":"')) + 2) + 6;
    const expected = ['inclusion proofs', 'inclusion proofs', 'checkpoint signature'];
    for (const [n, at] of [leafAt, proofAt, rootAt].entries()) {
      const mutant = join(root, `mutant-${n}.json`);
      await writeFile(mutant, text.slice(0, at) + (text[at] === 'Q' ? 'R' : 'Q') + text.slice(at + 1));
      const r = await custody(['verify', '--bundle', mutant, '--log-key', logKey], env);
      expect({ code: r.code, broke: /✗ ([a-z ]+):/.exec(r.stdout)?.[1] }).toEqual({
        code: 2,
        broke: expected[n],
      });
      expect(r.stdout).toContain('Verdict: INVALID');
      // Said once, in the checks, under a title that does not claim it verified.
      expect(r.stdout.match(/✗/g)).toHaveLength(1);
      expect(r.stdout).toMatch(/^Not verified: serial SN-C0007\n/);
    }
    const unreadable = join(root, 'unreadable.json');
    await writeFile(unreadable, '{}');
    const r = await custody(['verify', '--bundle', unreadable, '--log-key', logKey], env);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^Not verified: the bundle could not be read\nChecks:\n {2}✗ bundle format: /);
  });

  test('audit through the node and of the folder: clean; a changed leaf is named with exit 2', async () => {
    const remote = await as(undefined, ['audit', '--log-key', logKey]);
    expect(remote.code).toBe(0);
    const busy = await custody(['audit', '--data', data], env);
    expect({ code: busy.code, busy: busy.stderr.includes('in use by another process') }).toEqual({
      code: 3,
      busy: true,
    });
    await node.stop();
    const clean = await custody(['audit', '--data', data], env);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/audited \d+ entries/);
    const copy = join(root, 'tampered');
    await cp(data, copy, { recursive: true });
    node = await serveNode(data);
    const db = new Level<Uint8Array, Uint8Array>(join(copy, 'ledger'), {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    const leaves = db.sublevel<Uint8Array, Uint8Array>('leaves', {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    const key = new Uint8Array(8);
    new DataView(key.buffer).setBigUint64(0, 12n);
    const leaf = Buffer.from((await leaves.get(key)) as Uint8Array);
    const sigAt = leaf.indexOf('"sig":"') + 10;
    leaf[sigAt] = (leaf[sigAt] as number) ^ 1;
    await leaves.put(key, leaf);
    await db.close();
    const bad = await custodyJson<{ ok: boolean; problem: { index: number } }>(
      ['audit', '--data', copy],
      env,
    );
    expect({ code: bad.code, ok: bad.json.ok, index: bad.json.problem.index }).toEqual({
      code: 2,
      ok: false,
      index: 12,
    });
    // The copy served: the audit through the node names the same entry, not the
    // broken link of entry 13, which it reaches before entry 12's signature answers.
    await node.stop();
    node = await serveNode(copy);
    const remoteBad = await custodyJson<{ ok: boolean; problem: { index: number; kind: string } }>(
      ['audit', '--node', node.url, '--log-key', logKey],
      env,
    );
    expect({ code: remoteBad.code, ok: remoteBad.json.ok, problem: remoteBad.json.problem }).toMatchObject({
      code: 2,
      ok: false,
      problem: { index: 12, kind: 'entry' },
    });
    await node.stop();
    node = await serveNode(data);
  });

  test('a node that rolls the log back, or forks it, is caught by the checkpoint remembered: exit 2', async () => {
    expect((await as(undefined, ['verify', 'SN-C0001'])).code).toBe(0);
    await ok(
      as('ACME', ['report', '--serials', 'SN-C0001', '--kind', 'lost', '--reference', 'inventory 2026-11']),
    );
    const grown = await as(undefined, ['verify', 'SN-C0001']);
    expect(grown.stdout).toMatch(/grew from \d+ to \d+ without rewriting anything/);
    await node.stop();

    // The copy taken before the report: an older tree, served as if current.
    node = await serveNode(join(root, 'data-before'));
    const rolledBack = await as(undefined, ['verify', 'SN-C0001']);
    expect(rolledBack.code).toBe(2);
    expect(rolledBack.stdout).toMatch(/rolled back/);
    // An audit of the whole log holds it to the same checkpoint.
    const audited = await as(undefined, ['audit']);
    expect({
      code: audited.code,
      says: /^✗ the node's checkpoint is of size \d+, but you verified size \d+ before: the log was rolled back$/m.test(
        audited.stdout,
      ),
    }).toEqual({ code: 2, says: true });
    // Nor is its bundle saved as evidence.
    const stale = join(root, 'rolled-back.custody-bundle.json');
    const exported = await as(undefined, ['bundle', 'export', 'SN-C0001', '--out', stale]);
    expect({ code: exported.code, rolledBack: /rolled back/.test(exported.stdout) }).toEqual({
      code: 2,
      rolledBack: true,
    });
    await expect(readFile(stale)).rejects.toThrow(/ENOENT/);

    // The same copy grows differently: two trees of one size signed by one key.
    await ok(
      as('ACME', ['report', '--serials', 'SN-C0001', '--kind', 'stolen', '--reference', 'another story']),
    );
    const forked = await as(undefined, ['verify', 'SN-C0001']);
    expect(forked.code).toBe(2);
    expect(forked.stdout).toMatch(/forked/);
    const forkAudited = await as(undefined, ['audit']);
    expect({ code: forkAudited.code, forked: /the log forked/.test(forkAudited.stdout) }).toEqual({
      code: 2,
      forked: true,
    });
  });
});

describe('output into a pipe', () => {
  /** Runs the real binary with its stdout closed before the first write: every write meets EPIPE. */
  const withClosedStdout = async (args: string[]) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, stderr };
  };

  test('a reader that closes the pipe early (custody --help | head) ends the output quietly: exit 0', async () => {
    expect(await withClosedStdout(['--help'])).toEqual({ code: 0, stderr: '' });
  });

  test('the command still ends with its own exit code, not a crash or a 0', async () => {
    // With --json the refusal is written to stdout, into the closed pipe.
    const args = ['verify', '--bundle', join(root, 'none.json'), '--log-key', 'x', '--json'];
    const { code, stderr } = await withClosedStdout(args);
    expect(code).toBe(3);
    expect(stderr).not.toMatch(/EPIPE|Error:/);
  });
});

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('a node that serves what is not a log', () => {
  test('a leaf that is not base64: audit --node names it as a malformed entry, exit 2', async () => {
    const origin = 'hostile.custody.test/log';
    const signer = ed25519Signer(origin, generateSecretKey());
    const checkpoint = signCheckpoint({ origin, size: 2n, root: new Uint8Array(32), extensions: [] }, signer);
    // A node of its own making: a validly signed checkpoint, then entries that are not entries.
    const server = createHttpServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/v1/checkpoint') return res.end(checkpoint);
      if (url.pathname === '/v1/entries') {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ entries: [{ index: 0, leaf: '%%% not base64 %%%' }] }));
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ code: 'CUSTODY_NOT_FOUND', message: 'no such thing' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const audited = await custodyJson<{
        ok: boolean;
        problem: { index: number; kind: string; message: string };
      }>(['audit', '--node', `http://127.0.0.1:${port}`, '--log-key', signer.vkey], {
        CUSTODY_CONFIG_DIR: join(root, 'config-hostile'),
      });
      expect({
        code: audited.code,
        ok: audited.json.ok,
        index: audited.json.problem.index,
        kind: audited.json.problem.kind,
      }).toEqual({
        code: 2,
        ok: false,
        index: 0,
        kind: 'malformed-entry',
      });
      expect(audited.json.problem.message).toContain('base64');
    } finally {
      server.close();
    }
  });
});

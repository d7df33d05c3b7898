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
import { custodyJson, serveNode, tempDir } from './support.js';

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

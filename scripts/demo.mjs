// A walk-through of the ledger core on an embedded LevelDB: append, sign,
// prove, and catch a changed byte. Usage: pnpm demo [--data DIR]
// (after `pnpm build`). A fresh temporary folder is used unless --data is given.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ed25519Verifier,
  generateSecretKey,
  Log,
  openCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from '@custody/ledger';
import { Level } from 'level';

const dataFlag = process.argv.indexOf('--data');
const keep = dataFlag >= 0;
const base = keep ? process.argv[dataFlag + 1] : mkdtempSync(join(tmpdir(), 'custody-demo-'));
if (!base) {
  console.error('usage: pnpm demo [--data DIR]');
  process.exit(3);
}
const dir = join(base, `ledger-${Date.now()}`);
const step = (text) => console.log(`\n\u25b6 ${text}`);

step(`Creating a ledger in ${dir}`);
const ledger = await Log.create(dir, {
  origin: 'demo.custody.example/log',
  secretKey: generateSecretKey(),
});
console.log(`  log key: ${ledger.logVkey}`);

step('Appending three groups of entries (each group: one fsync, one signed checkpoint)');
const checkpoints = [];
for (const [g, count] of [40, 250, 10].entries()) {
  const entries = Array.from({ length: count }, (_, i) => ({
    received: ledger.now(),
    event: { type: 'demo.entry', group: g, n: i },
    sig: 'ZGVtbw==',
  }));
  const result = await ledger.append(entries);
  checkpoints.push(result.checkpoint);
  console.log(
    `  group ${g + 1}: entries ${result.firstIndex}..${result.firstIndex + count - 1}, tree size ${result.size}`,
  );
}
console.log('\n  latest checkpoint (C2SP signed note):');
for (const line of ledger.checkpoint.trimEnd().split('\n')) console.log(`  | ${line}`);

const log = ed25519Verifier(ledger.logVkey);
const first = openCheckpoint(checkpoints[0], log).checkpoint;
const last = openCheckpoint(checkpoints[2], log).checkpoint;

step('Proving entry 123 is in the signed tree (RFC 9162 inclusion proof)');
const entry = await ledger.entry(123);
const inclusion = await ledger.inclusionProof(123, last.size);
const included = verifyInclusion(123n, last.size, entry.leafHash, inclusion, last.root);
console.log(`  ${inclusion.length} hashes, verifies against the checkpoint: ${included}`);

step(`Proving the log only grew from size ${first.size} to ${last.size} (consistency proof)`);
const consistency = await ledger.consistencyProof(first.size, last.size);
console.log(
  `  ${consistency.length} hashes, verifies: ${verifyConsistency(first.size, last.size, consistency, first.root, last.root)}`,
);

step('Auditing every leaf, link and subtree hash');
console.log(`  ${JSON.stringify(await ledger.audit())}`);
await ledger.close();

step('Changing one byte of entry 200 directly in LevelDB, behind the ledger\u2019s back');
const db = new Level(dir, { keyEncoding: 'view', valueEncoding: 'view' });
const leaves = db.sublevel('leaves', { keyEncoding: 'view', valueEncoding: 'view' });
const key = new Uint8Array(8);
new DataView(key.buffer).setBigUint64(0, 200n);
const leaf = Buffer.from(await leaves.get(key));
leaf[leaf.indexOf('demo.entry') + 9] ^= 1; // "demo.entry" becomes "demo.entrx"
await leaves.put(key, leaf);
await db.close();

const reopened = await Log.open(dir);
const report = await reopened.audit();
console.log(
  `  audit: ${report.ok ? 'clean' : `FAILED at entry ${report.problem.index}: ${report.problem.message}`}`,
);
await reopened.close();

if (!keep) rmSync(base, { recursive: true, force: true });
console.log(`\nDone.${keep ? ` The ledger is kept in ${dir}.` : ''}`);

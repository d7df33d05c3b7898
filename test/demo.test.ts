/** The README's first command ends in `custody demo`: it must finish and print both verdicts. */
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { custody, custodyJson, tempDir } from './support.js';

test('custody demo runs a clean and a diverted transfer and prints both verdicts', async () => {
  const r = await custody(['demo'], { CUSTODY_CONFIG_DIR: tempDir() });
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/Verdicts: clean transfer CLEAN, diverted transfer FLAGGED/);
  expect(r.stdout).toContain('ROUTE_DEVIATION');
  expect(r.stdout).toContain('CONSIGNEE_MISMATCH');
});

test('custody demo --data keeps a ledger that audits clean; --json gives both verifications', async () => {
  const dir = join(tempDir(), 'kept');
  const r = await custodyJson<{ verifications: { verdict: string }[] }>(['demo', '--data', dir]);
  expect(r.json.verifications.map((v) => v.verdict)).toEqual(['clean', 'flagged']);
  const audit = await custody(['audit', '--data', dir]);
  expect(audit.code).toBe(0);
  const again = await custody(['demo', '--data', dir]);
  expect({ code: again.code, why: again.stderr.includes('is not empty') }).toEqual({ code: 3, why: true });
});

/**
 * Which reads check signatures: a history checks every one (and starts each
 * check as its entry is read); a bundle checks none, since whoever receives
 * it verifies it, and checks started for nothing would only queue ahead of
 * the bundle's own reads.
 */
import { expect, test, vi } from 'vitest';
import * as sign from '../src/events/sign.js';
import { Ledger } from '../src/ledger.js';
import { forgeStoredSignature, rawDb } from './helpers.js';
import { castOf, serials, transfer, World } from './world.js';

vi.mock('../src/events/sign.js', async (original) => {
  const actual = await original<typeof import('../src/events/sign.js')>();
  return { ...actual, verifyEventMessageAsync: vi.fn(actual.verifyEventMessageAsync) };
});

test('a bundle starts no signature checks; a history checks every entry it holds', async () => {
  const world = await World.create();
  await castOf(world);
  const [first, second] = await transfer(world, { items: serials(2, 'VB-') });
  await world.ledger.close();
  // Reopened, so that nothing is cached or remembered as checked for these entries.
  const ledger = await Ledger.open(world.dir);
  const checks = vi.mocked(sign.verifyEventMessageAsync);
  checks.mockClear();
  const bundle = await ledger.bundle({ serial: first as string });
  expect(bundle.entries.length).toBeGreaterThan(5);
  expect(checks).not.toHaveBeenCalled();
  const history = await ledger.history({ serial: second as string }, world.now);
  expect(history.verdict).toBe('clean');
  const checked = new Set(checks.mock.calls.map(([, sig]) => sig));
  for (const e of history.events) expect(checked.has(e.sig)).toBe(true);
  await ledger.close();
});

test('a history names an entry whose stored signature was changed; its checks ran on the ledger’s verification threads', async () => {
  const world = await World.create();
  await castOf(world);
  const [serial] = await transfer(world, { items: serials(1, 'VF-') });
  const clean = await world.ledger.history({ serial: serial as string }, world.now);
  expect(clean.verdict).toBe('clean');
  const target = clean.events.at(-1)?.index as number;
  await world.ledger.close();
  const raw = await rawDb(world.dir);
  await forgeStoredSignature(raw, target);
  await raw.db.close();
  const ledger = await Ledger.open(world.dir);
  const history = await ledger.history({ serial: serial as string }, world.now);
  expect(history.verdict).toBe('invalid');
  expect(history.problems).toEqual([expect.stringMatching(new RegExp(`^entry ${target}\\b.*signature`))]);
  // Reopened and only read from: the threads were started by the history's checks.
  expect((ledger as unknown as { verifier?: { engine: string } }).verifier?.engine).toBe('libsodium');
  await ledger.close();
});

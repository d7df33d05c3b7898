/**
 * Which reads check signatures, and where: a history checks every one (and
 * starts each check as its entry is read: its first few on the event loop,
 * the rest on the verification threads); a bundle checks none, since
 * whoever receives it verifies it, and checks started for nothing would
 * only queue ahead of the bundle's own reads.
 */
import { expect, test, vi } from 'vitest';
import * as sign from '../src/events/sign.js';
import { Ledger } from '../src/ledger.js';
import { VerifyPool } from '../src/verify-pool.js';
import { forgeStoredSignature, rawDb } from './helpers.js';
import { castOf, MANUFACTURE, serials, transfer, World } from './world.js';

vi.mock('../src/events/sign.js', async (original) => {
  const actual = await original<typeof import('../src/events/sign.js')>();
  return {
    ...actual,
    verifyEventMessage: vi.fn(actual.verifyEventMessage),
    verifyEventMessageAsync: vi.fn(actual.verifyEventMessageAsync),
  };
});

/** The signatures checked on the event loop and on verification threads from now on. */
function checksFromNow() {
  const onLoop = vi.mocked(sign.verifyEventMessage);
  onLoop.mockClear();
  const onThreads = vi.spyOn(VerifyPool.prototype, 'verify');
  onThreads.mockClear();
  return {
    onLoop: () => onLoop.mock.calls.map(([, sig]) => sig),
    onThreads: () => onThreads.mock.calls.map(([, , signature]) => Buffer.from(signature).toString('base64')),
  };
}

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

test('a history checks the signatures of the first entries it reads on the event loop: an item’s new one costs no trip to the threads', async () => {
  const world = await World.create();
  await castOf(world);
  const [older] = await transfer(world, { items: serials(1, 'VL-') });
  // Read once, so that the parties' entries are cached and their signatures remembered.
  expect((await world.history({ serial: older as string })).verdict).toBe('clean');
  await world.submit('ACME', 'item.manufacture', { serials: ['VL-NEW'] }, MANUFACTURE);
  const checks = checksFromNow();
  const history = await world.history({ serial: 'VL-NEW' });
  expect(history.verdict).toBe('clean');
  const made = history.events.find((e) => e.event.type === 'item.manufacture');
  expect(checks.onLoop()).toContain(made?.sig);
  expect(checks.onThreads()).toEqual([]);
  await world.ledger.close();
});

test('a history with more entries to check than the event loop takes sends the rest to the verification threads', async () => {
  const world = await World.create();
  await castOf(world);
  const [serial] = await transfer(world, { items: serials(1, 'VT-') });
  await world.ledger.close();
  // Reopened, so that nothing is cached or remembered as checked for these entries.
  const ledger = await Ledger.open(world.dir);
  const checks = checksFromNow();
  const history = await ledger.history({ serial: serial as string }, world.now);
  expect(history.verdict).toBe('clean');
  expect(checks.onLoop()).toHaveLength(4);
  // Each entry read was checked once, on the loop or on the threads: every
  // one in the history but the genesis, which is read apart (and some the
  // gathering read and left out).
  const checked = [...checks.onLoop(), ...checks.onThreads()];
  expect(new Set(checked).size).toBe(checked.length);
  for (const e of history.events.filter((e) => e.index !== 0)) expect(checked).toContain(e.sig);
  await ledger.close();
});

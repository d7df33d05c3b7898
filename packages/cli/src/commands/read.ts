/** Commands that read and verify: history, verify, bundle export, audit. */
import { readFile, writeFile } from 'node:fs/promises';
import {
  type Assessment,
  type Bundle,
  type BundleVerification,
  CHAIN_START,
  cosignatureVerifier,
  digestEventJson,
  EMPTY_FRONTIER,
  EventChecker,
  ed25519Verifier,
  extendFrontier,
  type Frontier,
  firstFound,
  fromBase64,
  frontierRoot,
  hashLeaf,
  Ledger,
  type NoteVerifier,
  openCheckpoint,
  parseEvent,
  parseVkey,
  placeLeaf,
  toHex,
  VerifyPool,
  verifyBundle,
  verifyConsistency,
  verifyMessageOn,
  whyNotWritten,
} from '@custody/ledger';
import { type Command, Option } from 'commander';
import type { NodeClient } from '../client.js';
import { type Context, contextOf } from '../context.js';
import { CliError, EXIT } from '../exit.js';
import { exitOf, printAssessment, printVerification, verdictText } from '../render.js';
import { loadTrust, rememberCheckpoint } from '../trust.js';

const collect = (value: string, previous: string[]) => [...previous, value];

interface VerifyFlags {
  logKey?: string;
  witness: string[];
  quorum?: string;
  policy?: string;
  now?: string;
  bundle?: string;
}

/** Witness keys and quorum from --witness/--quorum, or a C2SP tlog-policy file. */
async function witnessPolicy(
  o: VerifyFlags,
): Promise<{ logKey?: string; witnesses: NoteVerifier[]; quorum: number }> {
  let logKey = o.logKey;
  const vkeys = [...o.witness];
  let quorum = o.quorum === undefined ? undefined : Number(o.quorum);
  if (o.policy !== undefined) {
    const text = await readFile(o.policy, 'utf8').catch(() => {
      throw new CliError(`cannot read policy file ${o.policy}`);
    });
    const groups = new Map<string, number>();
    for (const line of text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))) {
      const [word, ...rest] = line.split(/\s+/);
      if (word === 'log') logKey ??= rest[0];
      else if (word === 'witness' && rest[1] !== undefined) vkeys.push(rest[1]);
      else if (word === 'group' && rest[0] !== undefined) groups.set(rest[0], Number(rest[1]));
      else if (word === 'quorum' && rest[0] !== undefined) quorum ??= groups.get(rest[0]) ?? Number(rest[0]);
    }
  }
  if (quorum !== undefined && (!Number.isInteger(quorum) || quorum < 0)) {
    throw new CliError('the quorum must be a whole number of witnesses, 0 or more');
  }
  if (quorum !== undefined && quorum > vkeys.length) {
    throw new CliError(
      `a quorum of ${quorum} needs at least ${quorum} witness key${quorum === 1 ? '' : 's'}; ${vkeys.length} given (--witness, or witness lines in --policy)`,
    );
  }
  const witnesses = vkeys.map((v) => {
    try {
      return cosignatureVerifier(v);
    } catch (e) {
      throw new CliError(`witness key ${v}: ${(e as Error).message}`);
    }
  });
  return { ...(logKey === undefined ? {} : { logKey }), witnesses, quorum: quorum ?? 0 };
}

function nowOf(o: { now?: string }): Date {
  if (o.now === undefined) return new Date();
  const d = new Date(o.now);
  if (Number.isNaN(d.getTime()))
    throw new CliError('--now must be an RFC 3339 time, e.g. 2026-11-22T10:00:00Z');
  return d;
}

/**
 * The log key to trust: --log-key if given (and it must match any key pinned
 * for that origin), else the key pinned on first use, else the node's own
 * answer, pinned now with a warning.
 */
async function resolveLogKey(
  ctx: Context,
  given: string | undefined,
  client?: NodeClient,
): Promise<{ vkey: string; pinnedNow: boolean }> {
  const trust = await loadTrust();
  let vkey = given;
  if (vkey === undefined && client !== undefined) vkey = (await client.text('/v1/log-key')).trim();
  if (vkey === undefined)
    throw new CliError('pass --log-key VKEY: the log key you trust (custody init printed it)');
  let origin: string;
  try {
    origin = parseVkey(vkey).name;
  } catch (e) {
    throw new CliError(`--log-key: ${(e as Error).message}`);
  }
  const pinned = trust.logs[origin];
  if (pinned !== undefined && pinned.vkey !== vkey) {
    throw new CliError(
      `the log ${origin} now presents key ${vkey}, but you trusted ${pinned.vkey}; it may be an impostor`,
      EXIT.invalid,
      'CUSTODY_KEY_CHANGED',
    );
  }
  if (given === undefined && pinned === undefined) {
    ctx.out.note(
      `note: trusting the key the node gave for ${origin} on first use: ${vkey}; pass --log-key to check it against a known value`,
    );
  }
  return { vkey, pinnedNow: pinned === undefined };
}

export function readCommands(program: Command): void {
  program
    .command('history')
    .argument('[serial]', 'serial number of the item')
    .description(
      'the timeline, flags and verdict of an item (or shipment, licence, party), as the node reports it',
    )
    .option('--shipment <id>', 'a shipment instead of an item')
    .option('--licence <id>', 'a licence instead of an item')
    .option('--party <id>', 'a party instead of an item')
    .option('--now <time>', 'judge as of this time (default: the node’s clock)')
    .addHelpText(
      'after',
      '\nExamples:\n  custody history SN-0042\n  custody history --shipment SHP-1 --json\n\nThis trusts the node. To verify instead, use custody verify.\n',
    )
    .action(
      async (
        serial: string | undefined,
        o: { shipment?: string; licence?: string; party?: string; now?: string },
        command: Command,
      ) => {
        const ctx = contextOf(command);
        const path = subjectPath(serial, o);
        const history = await ctx
          .client()
          .json<Assessment & { size: number }>(`${path}${o.now ? `?now=${encodeURIComponent(o.now)}` : ''}`);
        ctx.out.result(history);
        printAssessment(ctx.out, history, 'History (as the node reports it)');
        ctx.out.line(`Verdict: ${verdictText(ctx.out, history.verdict)} (not verified; use custody verify)`);
      },
    );

  program
    .command('verify')
    .argument('[serial]', 'serial number of the item (fetches its evidence bundle from --node)')
    .description(
      'verify an item’s chain of custody locally: every signature, proof and flag, trusting only the log key',
    )
    .option('--bundle <file>', 'verify a saved evidence bundle, fully offline')
    .option('--log-key <vkey>', 'the log key you trust (required with --bundle unless pinned before)')
    .option('--witness <vkey>', 'a witness cosigning key (repeatable)', collect, [])
    .option('--quorum <k>', 'how many witnesses must have cosigned')
    .option('--policy <file>', 'a C2SP tlog-policy file with log, witness, group and quorum lines')
    .option('--now <time>', 'judge time-based flags as of this time (default: now)')
    .addHelpText(
      'after',
      '\nExamples:\n  custody verify SN-0042 --node http://127.0.0.1:8080\n  custody verify --bundle SN-0042.custody-bundle.json --log-key custody.example/log+…\n\nExit codes: 0 clean, 1 flagged, 2 invalid (tampering, bad signature or proof, forked or rolled-back log), 3 usage or connection error.\n',
    )
    .action(async (serial: string | undefined, o: VerifyFlags, command: Command) => {
      const ctx = contextOf(command);
      if ((serial === undefined) === (o.bundle === undefined))
        throw new CliError('give either a SERIAL (verified against --node) or --bundle FILE');
      const policy = await witnessPolicy(o);
      const client = o.bundle === undefined ? ctx.client() : undefined;
      const { vkey } = await resolveLogKey(ctx, policy.logKey, client);
      let bundleText: string;
      if (o.bundle !== undefined) {
        bundleText = await readFile(o.bundle, 'utf8').catch(() => {
          throw new CliError(`cannot read bundle ${o.bundle}`);
        });
      } else {
        bundleText = await (client as NodeClient).text(
          `/v1/items/${encodeURIComponent(serial as string)}/bundle`,
        );
      }
      const verification = await verifyBundle(bundleText, vkey, {
        now: nowOf(o),
        witnesses: policy.witnesses,
        quorum: policy.quorum,
      });
      const { final, extra } = await withPinnedCheckpoint(verification, bundleText, vkey, client);
      ctx.out.result({ ...final, checks: [...final.checks, ...extra] });
      printVerification(ctx.out, final, extra);
      process.exitCode = exitOf(final.verdict);
    });

  const bundle = program.command('bundle').description('evidence bundles');
  bundle
    .command('export')
    .argument('<serial>', 'serial number of the item')
    .requiredOption('--out <file>', 'where to save the bundle')
    .option('--log-key <vkey>', 'check it against this log key before saving')
    .addHelpText('after', '\nExample:\n  custody bundle export SN-0042 --out SN-0042.custody-bundle.json\n')
    .description('save an item’s evidence bundle for offline verification (checked before it is saved)')
    .action(async (serial: string, o: { out: string; logKey?: string }, command: Command) => {
      const ctx = contextOf(command);
      const client = ctx.client();
      const { vkey } = await resolveLogKey(ctx, o.logKey, client);
      const text = await client.text(`/v1/items/${encodeURIComponent(serial)}/bundle`);
      const verification = await verifyBundle(text, vkey, { now: new Date() });
      // The same checks as verify, the checkpoint you verified before included (and remembered, as verify does).
      const { final, extra } = await withPinnedCheckpoint(verification, text, vkey, client);
      if (final.verdict === 'invalid') {
        printVerification(ctx.out, final, extra);
        throw new CliError(
          `the node's bundle for ${serial} does not verify; not saved`,
          EXIT.invalid,
          'CUSTODY_BAD_BUNDLE',
        );
      }
      try {
        await writeFile(o.out, text);
      } catch (e) {
        throw new CliError(`cannot save ${o.out}: ${whyNotWritten(e)}`);
      }
      const b = JSON.parse(text) as Bundle;
      ctx.out.result({ file: o.out, entries: b.entries.length, verdict: verification.verdict });
      ctx.out.line(
        `Saved ${o.out}: ${b.entries.length} entries with their proofs (verdict now: ${verdictText(ctx.out, verification.verdict)})`,
      );
      ctx.out.line(`Verify it anywhere: custody verify --bundle ${o.out} --log-key ${vkey}`);
    });

  program
    .command('audit')
    .description(
      'verify the whole log: every signature, the hash chain, every root; names the first bad index',
    )
    .addOption(
      new Option('--data <dir>', 'audit a ledger folder directly (as created by init)').conflicts('node'),
    )
    .option('--log-key <vkey>', 'the log key you trust (with --node)')
    .option('--witness <vkey>', 'with --node: a witness cosigning key (repeatable)', collect, [])
    .option('--quorum <k>', 'with --node: how many witnesses must have cosigned the checkpoint')
    .option('--policy <file>', 'with --node: a C2SP tlog-policy file')
    .addHelpText(
      'after',
      '\nExamples:\n  custody audit --data ./custody-data\n  custody audit --node http://127.0.0.1:8080 --witness w1+… --quorum 1\n\nExit codes: 0 the log is sound, 2 something is wrong (the index is named), 3 usage or connection error.\n',
    )
    .action(async (o: VerifyFlags & { data?: string }, command: Command) => {
      const ctx = contextOf(command);
      const report =
        o.data !== undefined ? await auditFolder(ctx, o.data) : await auditNode(ctx, await witnessPolicy(o));
      ctx.out.result(report);
      if (report.ok) {
        ctx.out.line(
          `${ctx.out.c.green('✓')} audited ${report.checked} entries: every signature, every prev link and every tree hash agree with the signed checkpoint`,
        );
      } else {
        const problem = report.problem;
        const x = ctx.out.c.red('✗');
        if (problem === undefined || CHECKPOINT_PROBLEMS.has(problem.kind)) {
          // Found before any entry was read; the message names the checkpoint.
          ctx.out.line(`${x} ${problem?.message ?? 'the audit failed'}`);
        } else if (problem.indexEntry === undefined) {
          ctx.out.line(`${x} ${ctx.out.c.bold(`entry ${problem.index}`)}: ${problem.message}`);
          ctx.out.line(`  (${report.checked} entries checked before it)`);
        } else {
          ctx.out.line(`${x} ${ctx.out.c.bold(`index entry "${problem.indexEntry}"`)}: ${problem.message}`);
          ctx.out.line(
            `  (all ${report.checked} entries hold up; the custody index disagrees with them: restore the folder from a good copy or a mirror)`,
          );
        }
        process.exitCode = EXIT.invalid;
      }
    });
}

function subjectPath(
  serial: string | undefined,
  o: { shipment?: string; licence?: string; party?: string },
): string {
  const given = [
    serial === undefined ? undefined : `/v1/items/${encodeURIComponent(serial)}`,
    o.shipment === undefined ? undefined : `/v1/shipments/${encodeURIComponent(o.shipment)}`,
    o.licence === undefined ? undefined : `/v1/licences/${encodeURIComponent(o.licence)}`,
    o.party === undefined ? undefined : `/v1/parties/${encodeURIComponent(o.party)}`,
  ].filter((p) => p !== undefined);
  if (given.length !== 1) throw new CliError('give exactly one of SERIAL, --shipment, --licence or --party');
  return given[0] as string;
}

/** A verification with the check against the pinned checkpoint added (see pinCheckpoint): invalid if it fails. */
async function withPinnedCheckpoint(
  v: BundleVerification,
  bundleText: string,
  vkey: string,
  client: NodeClient | undefined,
): Promise<{ final: BundleVerification; extra: { name: string; ok: boolean; detail: string }[] }> {
  const check = await pinCheckpoint(v, bundleText, vkey, client);
  if (check === undefined) return { final: v, extra: [] };
  const final: BundleVerification = check.ok
    ? v
    : { ...v, verdict: 'invalid', problems: [...v.problems, check.detail] };
  return { final, extra: [check] };
}

/** Checks the bundle's checkpoint against the pinned one and pins the larger; see trust.ts. */
async function pinCheckpoint(
  v: BundleVerification,
  bundleText: string,
  vkey: string,
  client: NodeClient | undefined,
): Promise<{ name: string; ok: boolean; detail: string } | undefined> {
  if (v.verdict === 'invalid' || v.checkpoint === undefined) return undefined;
  const note = (JSON.parse(bundleText) as Bundle).checkpoint;
  const log = ed25519Verifier(vkey);
  const fresh = openCheckpoint(note, log).checkpoint;
  const trust = await loadTrust();
  const pinned = trust.logs[fresh.origin];
  const name = 'consistency with the last checkpoint you verified';
  const save = () => rememberCheckpoint(fresh.origin, vkey, note);
  if (pinned === undefined) {
    await save();
    return { name, ok: true, detail: `first verification of ${fresh.origin}; remembered size ${fresh.size}` };
  }
  const old = openCheckpoint(pinned.checkpoint, log).checkpoint;
  if (fresh.size < old.size) {
    if (client === undefined)
      return {
        name,
        ok: true,
        detail: `the bundle is older (size ${fresh.size}) than what you verified (size ${old.size}); not checked offline`,
      };
    return {
      name,
      ok: false,
      detail: `the log shows size ${fresh.size}, but you verified size ${old.size} before: it was rolled back`,
    };
  }
  if (fresh.size === old.size) {
    const same = toHex(fresh.root) === toHex(old.root);
    return same
      ? { name, ok: true, detail: `same tree as you verified before (size ${old.size})` }
      : { name, ok: false, detail: `two different trees of size ${old.size} signed by the log: it forked` };
  }
  if (old.size === 0n) {
    await save();
    return { name, ok: true, detail: `grew from an empty tree to ${fresh.size}` };
  }
  if (client === undefined) {
    return {
      name,
      ok: true,
      detail: `the bundle's tree (size ${fresh.size}) is newer than yours (size ${old.size}); consistency needs the node, not checked offline`,
    };
  }
  const { proof } = await client.json<{ proof: string[] }>(
    `/v1/proof/consistency?from=${old.size}&to=${fresh.size}`,
  );
  if (
    !verifyConsistency(
      old.size,
      fresh.size,
      proof.map((p) => fromBase64(p)),
      old.root,
      fresh.root,
    )
  ) {
    return {
      name,
      ok: false,
      detail: `the tree of size ${fresh.size} does not extend the one of size ${old.size} you verified: the log forked or rewrote history`,
    };
  }
  await save();
  return {
    name,
    ok: true,
    detail: `the log grew from ${old.size} to ${fresh.size} without rewriting anything (consistency proof verified)`,
  };
}

/** Audit problems with the checkpoint itself, found before any entry is read. */
const CHECKPOINT_PROBLEMS = new Set(['checkpoint', 'rolled-back']);

interface AuditOutcome {
  ok: boolean;
  size: number;
  checked: number;
  problem?: { index: number; kind: string; message: string; indexEntry?: string };
}

async function auditFolder(ctx: Context, dir: string): Promise<AuditOutcome> {
  const { layout } = await import('./setup.js');
  const ledger = await Ledger.open(layout(dir).ledger);
  const bar = ctx.out.progress(ledger.size, 'auditing');
  try {
    const report = await ledger.audit({ onProgress: (done) => bar.update(done) });
    return {
      ...report,
      ...(report.problem
        ? {
            problem: {
              index: report.problem.index,
              kind: report.problem.kind,
              message: report.problem.message,
              ...(report.problem.indexEntry === undefined ? {} : { indexEntry: report.problem.indexEntry }),
            },
          }
        : {}),
    };
  } finally {
    bar.stop();
    await ledger.close();
  }
}

/**
 * Audits a node from the outside, as a mirror would: reads every entry,
 * checks every leaf, signature and prev link, rebuilds the tree and compares
 * its root with the node's signed checkpoint.
 */
async function auditNode(
  ctx: Context,
  policy: Awaited<ReturnType<typeof witnessPolicy>>,
): Promise<AuditOutcome> {
  const client = ctx.client();
  const { vkey } = await resolveLogKey(ctx, policy.logKey, client);
  const note = await client.text('/v1/checkpoint');
  let checkpoint: ReturnType<typeof openCheckpoint>['checkpoint'];
  try {
    const opened = openCheckpoint(note, ed25519Verifier(vkey), { witnesses: policy.witnesses });
    if (opened.cosignatures.length < policy.quorum) {
      throw new Error(
        `${opened.cosignatures.length} valid witness cosignature(s), ${policy.quorum} required`,
      );
    }
    checkpoint = opened.checkpoint;
  } catch (e) {
    return {
      ok: false,
      size: 0,
      checked: 0,
      problem: {
        index: 0,
        kind: 'checkpoint',
        message: `the node's checkpoint does not verify: ${(e as Error).message}`,
      },
    };
  }
  const size = Number(checkpoint.size);
  // The checkpoint verified before (verify, bundle export, audit): the entries
  // read must hash to its root at its size, or the log was rolled back or forked.
  const trust = await loadTrust();
  const pinned = trust.logs[checkpoint.origin];
  const before =
    pinned === undefined ? undefined : openCheckpoint(pinned.checkpoint, ed25519Verifier(vkey)).checkpoint;
  const beforeSize = Number(before?.size ?? 0);
  if (beforeSize > size) {
    return {
      ok: false,
      size,
      checked: 0,
      problem: {
        index: size,
        kind: 'rolled-back',
        message: `the node's checkpoint is of size ${size}, but you verified size ${beforeSize} before: the log was rolled back`,
      },
    };
  }
  const bar = ctx.out.progress(size, 'auditing');
  const checker = new EventChecker();
  // Signatures are checked on worker threads while this thread reads and
  // checks the entries after them, and the next page is fetched.
  const pool = VerifyPool.forAudit();
  const verify = verifyMessageOn(pool);
  let frontier: Frontier = EMPTY_FRONTIER;
  let prev = CHAIN_START;
  const fail = (index: number, kind: string, message: string): AuditOutcome => ({
    ok: false,
    size,
    checked: index,
    problem: { index, kind, message },
  });
  const fetchPage = (start: number) =>
    client.json<{ entries: { index: number; leaf: string }[] }>(`/v1/entries?start=${start}&end=${size}`);
  try {
    let next = size > 0 ? fetchPage(0) : undefined;
    for (let start = 0; start < size && next !== undefined; ) {
      const page = await next;
      next = start + page.entries.length < size ? fetchPage(start + page.entries.length) : undefined;
      // Keeps an abandoned prefetch (the audit stopped at a problem) from rejecting unobserved.
      next?.catch(() => undefined);
      // The page's signature checks, in log order; a problem the page found
      // stands only if no entry before it had a bad signature.
      const checks: Promise<AuditOutcome | undefined>[] = [];
      // Awaited where it is returned: the pool closes (finally) once the audit is done.
      const first = async (found: AuditOutcome) => (await firstFound(checks)) ?? found;
      if (page.entries.length === 0)
        return fail(start, 'missing-entry', `the node did not return entry ${start}`);
      const hashes: Uint8Array[] = [];
      for (const e of page.entries) {
        const index = start + hashes.length;
        if (e.index !== index)
          return await first(fail(index, 'missing-entry', `the node skipped entry ${index}`));
        let bytes: Uint8Array;
        try {
          bytes = fromBase64(e.leaf);
        } catch (err) {
          return await first(fail(index, 'malformed-entry', `entry ${index}: ${(err as Error).message}`));
        }
        const placed = placeLeaf(bytes, index, prev);
        if ('kind' in placed) return await first(fail(index, placed.kind, placed.message));
        try {
          const { entry: leaf, eventJson } = placed;
          const event = parseEvent(leaf.event);
          const { message, hash } = digestEventJson(eventJson);
          const problems = checker.checkAsync(
            { index, received: leaf.received, event, sig: leaf.sig, hash },
            message,
            verify,
          );
          const check = problems.then((p) => (p.length > 0 ? fail(index, 'entry', p.join('; ')) : undefined));
          // Observed now, should the audit end by a throw before firstFound sees it.
          check.catch(() => undefined);
          checks.push(check);
        } catch (err) {
          return await first(fail(index, 'malformed-entry', (err as Error).message));
        }
        const h = hashLeaf(bytes);
        prev = toHex(h);
        hashes.push(h);
      }
      if (before !== undefined && start < beforeSize && beforeSize <= start + hashes.length) {
        const atBefore = extendFrontier(frontier, hashes.slice(0, beforeSize - start)).frontier;
        if (toHex(frontierRoot(atBefore)) !== toHex(before.root)) {
          return await first(
            fail(
              beforeSize - 1,
              'forked',
              `the first ${beforeSize} entries do not hash to the root of the checkpoint you verified before: the log forked`,
            ),
          );
        }
      }
      const problem = await firstFound(checks);
      if (problem !== undefined) return problem;
      frontier = extendFrontier(frontier, hashes).frontier;
      start += page.entries.length;
      bar.update(start);
    }
  } finally {
    bar.stop();
    await pool.close();
  }
  if (toHex(frontierRoot(frontier)) !== toHex(checkpoint.root)) {
    return fail(size - 1, 'root', `the entries do not hash to the root the node signed for size ${size}`);
  }
  if (size > beforeSize || pinned === undefined) {
    await rememberCheckpoint(checkpoint.origin, vkey, note);
  }
  return { ok: true, size, checked: size };
}

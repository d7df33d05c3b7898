/** How histories and verifications look to a person. */
import type { Assessment, BundleVerification, Flag, Verdict } from '@custody/ledger';
import { EXIT, type ExitCode } from './exit.js';
import type { Output } from './output.js';

export function exitOf(verdict: Verdict): ExitCode {
  return verdict === 'clean' ? EXIT.ok : verdict === 'flagged' ? EXIT.flagged : EXIT.invalid;
}

export function verdictText(out: Output, verdict: Verdict): string {
  const { c } = out;
  if (verdict === 'clean') return c.green(c.bold('CLEAN'));
  if (verdict === 'flagged') return c.yellow(c.bold('FLAGGED'));
  return c.red(c.bold('INVALID'));
}

function subjectText(a: Assessment): string {
  const [kind, id] = Object.entries(a.subject)[0] as [string, string];
  // An unreadable bundle names no subject (see verifyBundle).
  return id === '?' ? 'the bundle could not be read' : `${kind} ${id}`;
}

export function printTimeline(out: Output, a: Assessment): void {
  out.table(
    ['#', 'time', 'event', 'by', 'what'],
    a.timeline.map((t) => [
      t.index,
      t.time.replace('T', ' ').replace(/(:\d\d)(\.\d+)?Z$/, '$1Z'),
      t.type,
      t.signer,
      t.correctedBy.length > 0 ? `${t.summary} ${out.c.yellow('(corrected)')}` : t.summary,
    ]),
  );
}

export function printFlags(out: Output, flags: readonly Flag[]): void {
  const { c } = out;
  for (const f of flags) {
    const severity = f.severity === 'high' ? c.red(f.severity) : c.yellow(f.severity);
    out.line(`  ${c.bold(f.code)} (${severity}, entries ${f.entries.join(', ')}): ${f.message}`);
  }
}

export function printAssessment(out: Output, a: Assessment, title: string): void {
  printStory(out, a, title);
  for (const p of a.problems) out.line(`  ${out.c.red('✗')} ${p}`);
}

/** The title, the timeline (if there is one) and the flags. */
function printStory(out: Output, a: Assessment, title: string): void {
  out.line(out.c.bold(`${title}: ${subjectText(a)}`));
  if (a.timeline.length > 0) printTimeline(out, a);
  if (a.flags.length > 0) {
    out.line(out.c.bold(`Flags (${a.flags.length}):`));
    printFlags(out, a.flags);
  }
}

export function printVerification(
  out: Output,
  v: BundleVerification,
  extra: readonly { name: string; ok: boolean; detail: string }[] = [],
): void {
  const { c } = out;
  // A verification that fails stops at the failed check, which says what broke: it is listed below, once.
  printStory(out, v, v.verdict === 'invalid' ? 'Not verified' : 'Verified offline');
  out.line(c.bold('Checks:'));
  for (const check of [...v.checks, ...extra])
    out.line(`  ${check.ok ? c.green('✓') : c.red('✗')} ${check.name}: ${check.detail}`);
  out.line(
    `Judged as of ${v.now}${v.checkpoint ? ` against checkpoint ${v.checkpoint.origin} @ ${v.checkpoint.size}` : ''}`,
  );
  out.line(`Verdict: ${verdictText(out, v.verdict)}`);
}

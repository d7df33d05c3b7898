/**
 * Output for people and for scripts. `--json` prints one JSON document and
 * nothing else on stdout; otherwise tables and colour, where the terminal
 * supports it (never under NO_COLOR, when piped, or on a dumb terminal).
 * Progress bars go to stderr, and only when it is a terminal.
 */
import { SingleBar } from 'cli-progress';
import pc from 'picocolors';
import { displayWidth, renderTable } from './table.js';

export interface Output {
  readonly json: boolean;
  readonly c: ReturnType<typeof pc.createColors>;
  /** A line for people (suppressed under --json). */
  line(text?: string): void;
  /** The machine-readable result (printed only under --json). */
  result(value: unknown): void;
  /** A line on stderr: warnings and hints, never part of the result. */
  note(text: string): void;
  /** A table; the last column wraps to fit the terminal. */
  table(head: string[], rows: (string | number)[][]): void;
  progress(total: number, label: string): Progress;
}

export interface Progress {
  update(done: number): void;
  stop(): void;
}

const colour = (stream: NodeJS.WriteStream) =>
  process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0'
    ? true
    : process.env.NO_COLOR === undefined && stream.isTTY === true && process.env.TERM !== 'dumb';

export function createOutput(json: boolean): Output {
  const c = pc.createColors(!json && colour(process.stdout));
  return {
    json,
    c,
    line: (text = '') => {
      if (!json) process.stdout.write(`${text}\n`);
    },
    result: (value) => {
      if (json)
        process.stdout.write(
          `${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`,
        );
    },
    note: (text) => process.stderr.write(`${text}\n`),
    table(head, rows) {
      if (json) return;
      const cells = rows.map((r) => r.map(String));
      const widths = head.map(
        (h, i) => Math.max(...[h, ...cells.map((r) => r[i] ?? '')].map(displayWidth)) + 2,
      );
      const total = Math.max(80, Math.min(process.stdout.columns ?? 120, 160));
      const fixed = widths.slice(0, -1).reduce((a, b) => a + b, 0) + head.length + 1;
      widths[widths.length - 1] = Math.max(20, Math.min(widths.at(-1) ?? 20, total - fixed));
      process.stdout.write(
        `${renderTable(
          head.map((h) => c.bold(h)),
          cells,
          widths,
        )}\n`,
      );
    },
    progress(total, label) {
      if (json || process.stderr.isTTY !== true) return { update: () => {}, stop: () => {} };
      const bar = new SingleBar({
        format: `${label} [{bar}] {percentage}% {value}/{total} {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
      });
      bar.start(total, 0);
      return { update: (done) => bar.update(done), stop: () => bar.stop() };
    },
  };
}

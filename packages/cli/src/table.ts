/**
 * Box-drawn tables for people: one space of padding each side of a cell, a
 * rule between rows, text wrapped at spaces to its column's width, other
 * cells of a wrapped row left blank below their text. The layout is
 * cli-table3's, which the CLI used before; measuring every word through its
 * emoji regular expression cost a one-shot `custody verify` about 20 ms
 * (BENCHMARKS.md). Unlike cli-table3, a word wider than its column is cut
 * into pieces rather than shortened with an ellipsis: what a log says is
 * evidence, and none of it may go missing from the screen.
 */

// SGR colour and style escapes, the only ones the CLI writes.
const SGR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'y');
// Combining marks, and format characters such as zero-width spaces and joiners (variation selectors are marks).
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]$/u;
const EMOJI = /^\p{Emoji_Presentation}$/u;

/** East Asian wide and fullwidth ranges (Unicode's EastAsianWidth W and F, in blocks). */
const WIDE: readonly [number, number][] = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x20000, 0x3fffd],
];

function charWidth(char: string): number {
  const code = char.codePointAt(0) as number;
  if (code < 0x7f) return code < 0x20 ? 0 : 1;
  if (ZERO_WIDTH.test(char)) return 0;
  if (EMOJI.test(char) || WIDE.some(([from, to]) => code >= from && code <= to)) return 2;
  return 1;
}

/** The text as escapes (no width) and characters, each a unit that is never split. */
function unitsOf(text: string): { text: string; width: number }[] {
  const units: { text: string; width: number }[] = [];
  for (let i = 0; i < text.length; ) {
    SGR.lastIndex = i;
    const sgr = SGR.exec(text);
    const unit = sgr?.[0] ?? String.fromCodePoint(text.codePointAt(i) as number);
    units.push({ text: unit, width: sgr === null ? charWidth(unit) : 0 });
    i += unit.length;
  }
  return units;
}

/** How many terminal columns the text takes: escapes none, combining marks none, wide characters two. */
export function displayWidth(text: string): number {
  return unitsOf(text).reduce((sum, u) => sum + u.width, 0);
}

/** The text in lines of at most `width` columns, broken at spaces; a word wider than that is cut. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  let used = 0;
  const next = () => {
    lines.push(line);
    line = '';
    used = 0;
  };
  for (const word of text.split(' ')) {
    const w = displayWidth(word);
    if (used > 0 && used + 1 + w <= width) {
      line += ` ${word}`;
      used += 1 + w;
      continue;
    }
    if (used > 0) next();
    for (const unit of unitsOf(word)) {
      if (used > 0 && used + unit.width > width) next();
      line += unit.text;
      used += unit.width;
    }
  }
  lines.push(line);
  return lines;
}

/**
 * The table as text (no final newline). `widths` are whole column widths,
 * padding included.
 */
export function renderTable(head: string[], rows: string[][], widths: number[]): string {
  const rule = (left: string, middle: string, right: string) =>
    `${left}${widths.map((w) => '─'.repeat(w)).join(middle)}${right}`;
  const row = (cells: string[]) => {
    const wrapped = widths.map((w, i) => wrap(cells[i] ?? '', Math.max(1, w - 2)));
    const height = Math.max(...wrapped.map((lines) => lines.length));
    return Array.from({ length: height }, (_, l) => {
      const parts = wrapped.map((lines, i) => {
        const text = lines[l] ?? '';
        return ` ${text}${' '.repeat(Math.max(0, (widths[i] as number) - 2 - displayWidth(text)))} `;
      });
      return `│${parts.join('│')}│`;
    }).join('\n');
  };
  const between = `\n${rule('├', '┼', '┤')}\n`;
  return [rule('┌', '┬', '┐'), [head, ...rows].map(row).join(between), rule('└', '┴', '┘')].join('\n');
}

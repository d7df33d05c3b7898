/** The CLI's tables: their layout, widths as a terminal counts them, and wrapping that loses nothing. */
import { fc, test as prop } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { displayWidth, renderTable, wrap } from '../src/table.js';

describe('displayWidth', () => {
  test('counts columns, not code units: escapes none, combining marks none, wide characters two', () => {
    expect(displayWidth('\x1b[1mSN-1\x1b[22m')).toBe(4);
    expect(displayWidth('e\u0301')).toBe(1);
    expect(displayWidth('警察')).toBe(4);
    expect(displayWidth('😀')).toBe(2);
    expect(displayWidth('→ ✓ …')).toBe(5);
  });
});

describe('wrap', () => {
  test('breaks at spaces and cuts a word wider than the column', () => {
    expect(wrap('issued licence DE-L-4 to KE-POLICE', 16)).toEqual([
      'issued licence',
      'DE-L-4 to',
      'KE-POLICE',
    ]);
    expect(wrap('word abcdefghijkl z', 5)).toEqual(['word', 'abcde', 'fghij', 'kl z']);
    expect(wrap('日本語のテキスト', 6)).toEqual(['日本語', 'のテキ', 'スト']);
  });

  test('never splits an escape', () => {
    const lines = wrap(`seized \x1b[33m(corrected)\x1b[39m`, 8);
    expect(lines).toEqual(['seized', '\x1b[33m(correct', 'ed)\x1b[39m']);
  });

  const text = fc.string({
    unit: fc.oneof(
      fc.constantFrom(' ', ' ', 'a', 'é', '警', '😀', 'e\u0301'),
      fc.string({ minLength: 1, maxLength: 1 }),
    ),
    maxLength: 120,
  });
  prop.prop([text, fc.integer({ min: 2, max: 60 })])(
    'lines fit the width and nothing but spaces is lost',
    (t, width) => {
      const lines = wrap(t, width);
      for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(width);
      expect(lines.join('').replaceAll(' ', '')).toBe(t.replaceAll(' ', ''));
    },
  );
});

test('renderTable draws the layout the README shows', () => {
  const table = renderTable(
    ['#', 'what'],
    [
      ['1', 'manufactured 10 × Acme G36'],
      ['12', 'ok'],
    ],
    [4, 16],
  );
  expect(table).toBe(
    [
      '┌────┬────────────────┐',
      '│ #  │ what           │',
      '├────┼────────────────┤',
      '│ 1  │ manufactured   │',
      '│    │ 10 × Acme G36  │',
      '├────┼────────────────┤',
      '│ 12 │ ok             │',
      '└────┴────────────────┘',
    ].join('\n'),
  );
});

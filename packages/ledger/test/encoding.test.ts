import { fc, test as prop } from '@fast-check/vitest';
import canonicalize from 'canonicalize';
import { describe, expect, test } from 'vitest';
import { fromBase64, fromHex, fromUtf8, parseUint64, toBase64, toHex } from '../src/bytes.js';
import { canonicalAsIs, canonicalJson, type JsonValue } from '../src/canonical.js';
import { CHAIN_START, decodeLeaf, encodeLeaf, type LeafEntry, readLeaf } from '../src/leaf.js';
import { failsWith } from './helpers.js';

describe('strict byte encodings', () => {
  test('base64: only the canonical padded spelling is accepted', async () => {
    expect(toHex(fromBase64('AAE='))).toBe('0001');
    for (const bad of ['AAE', 'AAF=', 'AA E=', 'AAE==', '-_8=', 'AAE=\n']) {
      expect(await failsWith(() => fromBase64(bad))).toBe('CUSTODY_BAD_INPUT');
    }
    expect(await failsWith(() => fromBase64('AAE=', 3))).toBe('CUSTODY_BAD_INPUT');
  });

  // Every well-formed spelling, the canonical one of its bytes or not: accepted
  // exactly when encoding the bytes it decodes to gives it back.
  const digit = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
  const spelling = fc
    .tuple(
      fc.array(fc.string({ unit: digit, minLength: 4, maxLength: 4 }), { maxLength: 4 }),
      fc.oneof(
        fc.constant(''),
        fc.string({ unit: digit, minLength: 2, maxLength: 2 }).map((d) => `${d}==`),
        fc.string({ unit: digit, minLength: 3, maxLength: 3 }).map((d) => `${d}=`),
      ),
    )
    .map(([groups, last]) => groups.join('') + last);
  prop.prop([spelling])("base64: a spelling is accepted only if it is its bytes' canonical one", (text) => {
    const canonical = Buffer.from(text, 'base64').toString('base64') === text;
    let decoded: Uint8Array | undefined;
    try {
      decoded = fromBase64(text);
    } catch {
      decoded = undefined;
    }
    expect(decoded !== undefined).toBe(canonical);
    if (decoded !== undefined) expect(toBase64(decoded)).toBe(text);
  });

  // Any text at all, against the rule written out plainly: the RFC's alphabet and
  // padding by pattern, the bytes by Node's decoder, canonical if they encode back to it.
  const pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
  const byTheRule = (text: string, length?: number): string => {
    if (!pattern.test(text)) return 'value is not standard padded base64';
    const bytes = Buffer.from(text, 'base64');
    if (bytes.toString('base64') !== text) return 'value is not canonical base64 (non-zero padding bits)';
    if (length !== undefined && bytes.length !== length)
      return `value must decode to ${length} bytes, not ${bytes.length}`;
    return bytes.toString('hex');
  };
  const decoded = (text: string, length?: number): string => {
    try {
      return toHex(fromBase64(text, length));
    } catch (e) {
      return (e as Error).message;
    }
  };
  const near = fc.oneof(
    fc.string({
      unit: fc.constantFrom(...'AQgw+/=', ' ', '\n', '-', '_', 'é', '\u0100', '\ud83d'),
      maxLength: 14,
    }),
    fc.uint8Array({ maxLength: 10 }).chain((b) =>
      fc.tuple(fc.nat(), fc.constantFrom('=', 'A', 'B', ' ', '+', 'ÿ', '')).map(([at, c]) => {
        const text = Buffer.from(b).toString('base64');
        const i = text.length === 0 ? 0 : at % text.length;
        return text.slice(0, i) + c + text.slice(i + 1);
      }),
    ),
  );
  prop.prop([near, fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined })])(
    'base64: any text is decoded, or refused with the reason, as the rule says',
    (text, length) => {
      expect(decoded(text, length)).toBe(byTheRule(text, length));
    },
  );

  prop.prop([fc.uint8Array({ maxLength: 100 })])('base64 and hex round-trip', (bytes) => {
    expect(fromBase64(toBase64(bytes))).toEqual(bytes);
    expect(fromHex(toHex(bytes))).toEqual(bytes);
  });

  test('hex: lower case, even length, exact size', async () => {
    expect(await failsWith(() => fromHex('AB'))).toBe('CUSTODY_BAD_INPUT');
    expect(await failsWith(() => fromHex('abc'))).toBe('CUSTODY_BAD_INPUT');
    expect(await failsWith(() => fromHex('ab', 2))).toBe('CUSTODY_BAD_INPUT');
  });

  test('decimal sizes: exact to 2^64 - 1, no sign, no leading zeros', async () => {
    expect(parseUint64('18446744073709551615')).toBe(2n ** 64n - 1n);
    expect(parseUint64('9007199254740993')).toBe(2n ** 53n + 1n);
    expect(parseUint64('0')).toBe(0n);
    for (const bad of ['18446744073709551616', '01', '-1', '+1', '1e3', ' 1', '', '0x10']) {
      expect(await failsWith(() => parseUint64(bad))).toBe('CUSTODY_BAD_INPUT');
    }
  });

  test('UTF-8 is decoded strictly', async () => {
    expect(fromUtf8(new Uint8Array([0xe2, 0x80, 0x94]))).toBe('\u2014');
    expect(await failsWith(() => fromUtf8(new Uint8Array([0xc3, 0x28])))).toBe('CUSTODY_BAD_INPUT');
  });
});

describe('RFC 8785 canonical JSON', () => {
  test('the RFC 8785 §3.2.2 example sorts keys by UTF-16 code units and formats numbers as ECMAScript does', () => {
    const value = {
      // biome-ignore lint/correctness/noPrecisionLoss: the RFC's own input, which must round to 333333333.3333333
      numbers: [333333333.33333329, 1e30, 4.5, 2e-3, 0.000000000000000000000000001],
      string: '\u20ac$\u000F\u000aA\'\u0042\u0022\u005c\\"/',
      literals: [null, true, false],
    };
    expect(canonicalJson(value)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
    // RFC 8785 §3.2.3's sorting example, in the order the RFC gives.
    const sorted = canonicalJson({
      '\u20ac': 1,
      '\r': 2,
      '\ud83d\ude00': 3,
      '1': 4,
      '\u0080': 5,
      '\u00f6': 6,
    });
    expect(sorted).toBe('{"\\r":2,"1":4,"\u0080":5,"\u00f6":6,"\u20ac":1,"\ud83d\ude00":3}');
  });

  test.each([
    ['NaN', { n: Number.NaN }],
    ['Infinity', { n: Number.POSITIVE_INFINITY }],
    ['undefined members', { a: undefined }],
    ['a bigint', { n: 1n }],
    ['a Date', { d: new Date(0) }],
    ['a lone surrogate', { s: '\ud800' }],
    ['a lone surrogate in a key', { '\ud800': 1 }],
    ['deep nesting', JSON.parse(`${'['.repeat(40)}${']'.repeat(40)}`)],
  ])('refuses %s rather than guessing', async (_what, value) => {
    expect(await failsWith(() => canonicalJson(value as unknown as JsonValue))).toBe('CUSTODY_NOT_CANONICAL');
  });
});

describe('leaf encoding', () => {
  const entry: LeafEntry = {
    index: 0,
    prev: CHAIN_START,
    received: '2026-11-22T10:00:00.000Z',
    event: { type: 'item.manufacture', serials: ['A1'] },
    sig: 'c2ln',
  };

  test('round-trips byte for byte', () => {
    const bytes = encodeLeaf(entry);
    expect(new TextDecoder().decode(bytes)).toBe(
      `{"event":{"serials":["A1"],"type":"item.manufacture"},"index":0,"prev":"${CHAIN_START}","received":"2026-11-22T10:00:00.000Z","sig":"c2ln"}`,
    );
    expect(decodeLeaf(bytes)).toEqual(entry);
  });

  test.each([
    ['whitespace (not canonical)', (t: string) => t.replace('{"event"', '{ "event"')],
    [
      'keys out of order',
      (t: string) => t.replace('"index":0,"prev"', '"prev"').replace('"sig"', '"index":0,"sig"'),
    ],
    ['an extra member', (t: string) => t.replace('"sig"', '"x":1,"sig"')],
    ['a missing member', (t: string) => t.replace(',"sig":"c2ln"', '')],
    ['a short prev', (t: string) => t.replace(CHAIN_START, '00')],
    ['a negative index', (t: string) => t.replace('"index":0', '"index":-1')],
    ['not JSON', () => '{'],
  ])('refuses a leaf with %s', async (_what, change) => {
    const text = change(new TextDecoder().decode(encodeLeaf(entry)));
    expect(await failsWith(() => decodeLeaf(new TextEncoder().encode(text)))).toBe('CUSTODY_BAD_INPUT');
  });

  test('an entry of exactly 65,535 bytes fits; one more byte does not', async () => {
    const base = encodeLeaf({ ...entry, event: { pad: '' } }).length;
    const fits = { ...entry, event: { pad: 'x'.repeat(65_535 - base) } };
    expect(encodeLeaf(fits).length).toBe(65_535);
    const over = { ...entry, event: { pad: 'x'.repeat(65_536 - base) } };
    expect(await failsWith(() => encodeLeaf(over))).toBe('CUSTODY_ENTRY_TOO_LARGE');
  });
});

describe('canonical JSON against the reference implementation', () => {
  prop.prop([fc.jsonValue({ maxDepth: 6 })], { numRuns: 2000 })(
    'the same text as the canonicalize package for any JSON value',
    (value) => {
      expect(canonicalJson(value as JsonValue)).toBe(canonicalize(value));
    },
  );

  prop.prop(
    [
      fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), {
        maxKeys: 40,
      }),
    ],
    { numRuns: 500 },
  )('the same text for objects of few keys and of many (sorted two ways), any code points', (value) => {
    expect(canonicalJson(value as JsonValue)).toBe(canonicalize(value));
  });
});

describe('canonical JSON keeps keys it has written', () => {
  test('a key refused once is refused again, not remembered as written', async () => {
    for (let i = 0; i < 2; i++) {
      expect(await failsWith(() => canonicalJson({ a: 1, 'x\udc00': 2 }))).toBe('CUSTODY_NOT_CANONICAL');
    }
  });

  test('the same text past the bound of the keys it keeps (more keys than it holds, then the first again)', () => {
    const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]));
    const first = { k0: [1, { k1: 'a', k4999: null }], b: true };
    expect(canonicalJson(first)).toBe(canonicalize(first));
    expect(canonicalJson(many)).toBe(canonicalize(many));
    expect(canonicalJson(first)).toBe(canonicalize(first));
  });
});

describe('leaf bytes built around the event text', () => {
  prop.prop(
    [
      fc.record({
        index: fc.nat(),
        prev: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')),
        received: fc.string(),
        event: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })),
        sig: fc.base64String(),
      }),
    ],
    { numRuns: 500 },
  )('are exactly the RFC 8785 bytes of the whole entry', (entry) => {
    const leaf = entry as unknown as LeafEntry;
    expect(fromUtf8(encodeLeaf(leaf))).toBe(canonicalJson(entry as unknown as JsonValue));
  });
});

describe('a text found canonical as it is, without canonicalizing', () => {
  /** Spellings of a value: canonical, in insertion order, indented, escaped where JCS does not escape. */
  const spellings = (value: unknown): string[] => {
    const out = [JSON.stringify(value), JSON.stringify(value, null, 1)];
    try {
      const canonical = canonicalJson(value as JsonValue);
      out.push(
        canonical,
        canonical.replace(/[a-z]/, (c) => `\\u00${c.charCodeAt(0).toString(16)}`),
      );
      out.push(canonical.replace(/\d(?=[,\]}])/, (d) => `${d}.0`));
    } catch {
      // Lone surrogates: no canonical text to spell.
    }
    return out;
  };
  const value = fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' });

  prop.prop([value], { numRuns: 2000 })(
    'never says so of a text that canonicalizing would not give back',
    (v) => {
      for (const text of spellings(v)) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          continue; // a letter escaped outside a string (true, null)
        }
        if (!canonicalAsIs(text, parsed)) continue;
        expect(canonicalJson(parsed as JsonValue)).toBe(text);
      }
    },
  );

  prop.prop([fc.dictionary(fc.string({ unit: 'grapheme-ascii' }), fc.jsonValue({ maxDepth: 3 }))], {
    numRuns: 500,
  })('says so of the canonical text of a value with no keys that V8 reorders', (v) => {
    fc.pre(!JSON.stringify(v).match(/"\d+":/));
    const text = canonicalJson(v as JsonValue);
    expect(canonicalAsIs(text, JSON.parse(text))).toBe(true);
  });

  test('not of keys out of order, integer-like keys, escaped lone surrogates or deep nesting', () => {
    const no = (text: string) => expect(canonicalAsIs(text, JSON.parse(text))).toBe(false);
    no('{"b":1,"a":2}');
    no('{"10":1,"9":2}'); // canonical, but V8 puts 9 first: canonicalized instead
    no('["\\ud800"]');
    no(`${'['.repeat(40)}${']'.repeat(40)}`);
    no('{"a":1,"a":1}');
    no('1.0');
    expect(canonicalAsIs('{"a":[1,{"b":"\\u0000"}]}', JSON.parse('{"a":[1,{"b":"\\u0000"}]}'))).toBe(true);
  });

  test('a leaf read that way gives the same entry and event text as canonicalizing it', () => {
    const entry: LeafEntry = {
      index: 7,
      prev: CHAIN_START,
      received: '2026-03-02T08:00:00.000Z',
      event: { type: 'item.report', subject: { index: 3, serials: ['A'] }, body: { '10': 1, '9': 2 } },
      sig: 'c2ln',
    };
    const read = readLeaf(encodeLeaf(entry));
    expect(read.eventJson).toBe(canonicalJson(entry.event));
    // `,"index":` inside the event too, and inside a string (escaped there).
    const plain = { ...entry, event: { subject: { a: 1, index: 3 }, type: ',"index":' } };
    expect(readLeaf(encodeLeaf(plain)).eventJson).toBe(canonicalJson(plain.event));
  });
});

import { fc, test as prop } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { toHex } from '../src/bytes.js';
import {
  cosignatureVerifier,
  cosigner,
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from '../src/checkpoint.js';
import { CustodyError } from '../src/errors.js';
import {
  addSignatures,
  ed25519Signer,
  ed25519Verifier,
  formatVkey,
  openNote,
  parseVkey,
  SIG_ED25519,
  signNote,
} from '../src/note.js';
import { generateSecretKey, publicKeyOf } from '../src/signature.js';
import { vectorText } from './vectors.js';

/** The examples of vectors/signed-note.md: each vkey with the fenced note after it. */
interface Example {
  vkeys: string[];
  note: string;
}

function examples(): Example[] {
  const doc = vectorText('signed-note.md');
  return doc
    .split(/^## /m)
    .slice(1)
    .map((section) => ({
      vkeys: [...section.matchAll(/vkey: `([^`]+)`/g)].map((m) => m[1] as string),
      note: /```\n([\s\S]*?)```/.exec(section)?.[1] as string,
    }));
}

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return e instanceof CustodyError ? e.code : `non-custody error: ${String(e)}`;
  }
};

describe('signed-note vectors', () => {
  const all = examples();
  test('three examples are read', () => {
    expect(all).toHaveLength(3);
    expect(all.every((e) => e.note.length > 0 && e.vkeys.length > 0)).toBe(true);
  });
  const [plain, sumdb, cosigned] = all as [Example, Example, Example];

  test('1. the spec example verifies with its vkey', () => {
    const opened = openNote(plain.note, [ed25519Verifier(plain.vkeys[0] as string)]);
    expect(opened.text).toBe('This is an example message.\n');
    expect(opened.verified.map((s) => s.name)).toEqual(['example.com/foo']);
  });

  test('2. a Go checksum database checkpoint verifies; its size changed by one does not', () => {
    const log = ed25519Verifier(sumdb.vkeys[0] as string);
    const note = sumdb.note;
    const cp = openCheckpoint(note, log, { origin: 'go.sum database tree' });
    expect(cp.checkpoint.size).toBe(63512409n);
    expect(
      codeOf(() =>
        openCheckpoint(note.replace('63512409', '63512408'), log, { origin: 'go.sum database tree' }),
      ),
    ).toBe('CUSTODY_BAD_SIGNATURE');
    // Our own logs name themselves by origin; a checkpoint of another origin is refused.
    expect(codeOf(() => openCheckpoint(note, log))).toBe('CUSTODY_BAD_CHECKPOINT');
  });

  test('3. a checkpoint of the 8-leaf tree with a witness cosignature', () => {
    const [logKey, witnessKey] = cosigned.vkeys as [string, string];
    const cp = openCheckpoint(cosigned.note, ed25519Verifier(logKey), {
      witnesses: [cosignatureVerifier(witnessKey)],
    });
    expect(toHex(cp.checkpoint.root)).toBe(
      '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    );
    expect(cp.checkpoint.size).toBe(8n);
    expect(cp.cosignatures).toEqual([
      { name: 'witness.example/w1', keyId: 0x02226c6f, timestamp: 1700000000n },
    ]);
  });

  test('every single-character change to any example is rejected or leaves the verified text unchanged', () => {
    for (const ex of [plain, sumdb, cosigned]) {
      const note = ex.note;
      const verifiers = ex.vkeys.map((v) =>
        parseVkey(v).type === SIG_ED25519 ? ed25519Verifier(v) : cosignatureVerifier(v),
      );
      for (let i = 0; i < note.length; i++) {
        const ch = note[i] === 'A' ? 'B' : 'A';
        const mutant = note.slice(0, i) + ch + note.slice(i + 1);
        let text: string | undefined;
        try {
          text = openNote(mutant, verifiers).text;
        } catch (e) {
          expect(e).toBeInstanceOf(CustodyError);
          continue;
        }
        // Only a change inside a signature line of an unknown key may pass, and it cannot alter the text.
        expect(text).toBe(note.slice(0, note.lastIndexOf('\n\n') + 1));
      }
    }
  });
});

describe('signed notes', () => {
  // A fixed key, so the key ID is known to contain hex letters (see the upper-case test).
  const alice = ed25519Signer('alice.example/key', new Uint8Array(32).fill(1));
  const bob = ed25519Signer('bob.example/key', generateSecretKey());

  test('vkeys round-trip, and are split on the first two "+" only', () => {
    const v = parseVkey(alice.vkey);
    expect(v.name).toBe('alice.example/key');
    expect(formatVkey(v.name, v.type, v.publicKey)).toBe(alice.vkey);
    expect(
      parseVkey('example.com/provenance-test+df28f01d+ARBH1wYUwUG3M8pxT4+PsnLBTmVKOV0udKtylUT/ZqR2').keyId,
    ).toBe(0xdf28f01d);
  });

  test.each([
    ['no parts', 'nothing'],
    ['a key ID that does not match', alice.vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+')],
    [
      'an upper-case key ID',
      alice.vkey.replace(/\+([0-9a-f]{8})\+/, (_m, id: string) => `+${id.toUpperCase()}+`),
    ],
    ['a short key', `${alice.vkey.slice(0, -8)}AAAA`],
    ['a space in the name', `a b${alice.vkey.slice(alice.vkey.indexOf('+'))}`],
  ])('a vkey with %s is refused', (_what, vkey) => {
    expect(alice.vkey).toMatch(/\+[0-9a-f]*[a-f][0-9a-f]*\+/);
    expect(codeOf(() => parseVkey(vkey))).toBe('CUSTODY_BAD_VKEY');
  });

  test('unknown keys are ignored, a known key that fails rejects the whole note', () => {
    const note = signNote('hello\n', [alice, bob]);
    expect(openNote(note, [ed25519Verifier(alice.vkey)]).unknown.map((s) => s.name)).toEqual([
      'bob.example/key',
    ]);
    // Same name, other key: a different key ID, so it is someone else, ignored.
    const impostor = ed25519Signer('alice.example/key', generateSecretKey());
    const both = addSignatures(signNote('hello\n', [alice]), [
      {
        name: impostor.name,
        keyId: impostor.keyId,
        signature: impostor.sign(new TextEncoder().encode('hello\n')),
      },
    ]);
    expect(openNote(both, [ed25519Verifier(alice.vkey)]).verified).toHaveLength(1);
    // Same name and key ID, wrong signature: refused.
    const forged = signNote('hello\n', [{ ...alice, sign: () => new Uint8Array(64) }]);
    expect(codeOf(() => openNote(forged, [ed25519Verifier(alice.vkey)]))).toBe('CUSTODY_BAD_SIGNATURE');
    expect(
      codeOf(() => openNote(note, [ed25519Verifier(ed25519Signer('carol', generateSecretKey()).vkey)])),
    ).toBe('CUSTODY_BAD_SIGNATURE');
  });

  test('sixteen signatures are accepted; more than a hundred are refused', () => {
    const signers = Array.from({ length: 16 }, (_, i) => ed25519Signer(`w${i}.example`, generateSecretKey()));
    const note = signNote('text\n', signers);
    expect(
      openNote(
        note,
        signers.map((s) => ed25519Verifier(s.vkey)),
      ).verified,
    ).toHaveLength(16);
    const many = addSignatures(
      note,
      Array.from({ length: 90 }, () => ({ name: 'x', keyId: 1, signature: new Uint8Array(64) })),
    );
    expect(codeOf(() => openNote(many, [ed25519Verifier(alice.vkey)]))).toBe('CUSTODY_BAD_NOTE');
  });

  test.each([
    ['no blank line', '\u2014 a AAAAAAA=\n'],
    ['no final newline', 'text\n\n\u2014 alice.example/key AAAAAAA='],
    ['a control character', 'te\u0007xt\n\n\u2014 alice.example/key AAAAAAA=\n'],
    ['a signature line without the dash', 'text\n\n- alice.example/key AAAAAAA=\n'],
    ['a signature that is not base64', 'text\n\n\u2014 alice.example/key !!!!\n'],
    ['a signature too short for a key ID', 'text\n\n\u2014 alice.example/key AAA=\n'],
  ])('a note with %s is refused', (_what, note) => {
    expect(codeOf(() => openNote(note, [ed25519Verifier(alice.vkey)]))).toBe('CUSTODY_BAD_NOTE');
  });
});

describe('checkpoints', () => {
  const secret = generateSecretKey();
  const log = ed25519Signer('custody.test/log', secret);
  const verifier = ed25519Verifier(log.vkey);
  const root = new Uint8Array(32).fill(7);

  test('sign, open and round-trip, with sizes beyond 2^53 kept exact', () => {
    const size = 2n ** 60n + 1n;
    const note = signCheckpoint({ origin: log.name, size, root, extensions: [] }, log);
    const opened = openCheckpoint(note, verifier);
    expect(opened.checkpoint.size).toBe(size);
    expect(formatCheckpoint(opened.checkpoint)).toBe(opened.text);
  });

  test.each([
    ['a leading zero', 'o\n010\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n'],
    ['a negative size', 'o\n-1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n'],
    ['a size over 2^64 - 1', 'o\n18446744073709551616\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n'],
    ['a short root', 'o\n1\nBwcHBw==\n'],
    ['two lines', 'o\n1\n'],
    ['an empty extension line', 'o\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n\nx\n'],
  ])('a checkpoint with %s is refused', (_what, text) => {
    expect(codeOf(() => parseCheckpoint(text))).toBe('CUSTODY_BAD_CHECKPOINT');
  });

  test('extension lines are kept and signed', () => {
    const note = signCheckpoint({ origin: log.name, size: 3n, root, extensions: ['ext one'] }, log);
    expect(openCheckpoint(note, verifier).checkpoint.extensions).toEqual(['ext one']);
  });

  test('a log key cannot sign for another origin', () => {
    expect(codeOf(() => signCheckpoint({ origin: 'other', size: 1n, root, extensions: [] }, log))).toBe(
      'CUSTODY_BAD_CHECKPOINT',
    );
  });

  test('a witness cosignature verifies with its time; a changed time or text does not', () => {
    const witness = cosigner('witness.test/w', generateSecretKey());
    const note = signCheckpoint({ origin: log.name, size: 5n, root, extensions: [] }, log);
    const text = note.slice(0, note.indexOf('\n\n') + 1);
    const cosigned = addSignatures(note, [witness.cosign(text, 1_800_000_000n)]);
    const opened = openCheckpoint(cosigned, verifier, { witnesses: [cosignatureVerifier(witness.vkey)] });
    expect(opened.cosignatures[0]?.timestamp).toBe(1_800_000_000n);
    // Re-using the signature under another timestamp must fail.
    const sig = witness.cosign(text, 1_800_000_000n);
    const shifted = Uint8Array.from(sig.signature);
    shifted[7] = (shifted[7] as number) ^ 1;
    const replayed = addSignatures(note, [{ ...sig, signature: shifted }]);
    expect(
      codeOf(() => openCheckpoint(replayed, verifier, { witnesses: [cosignatureVerifier(witness.vkey)] })),
    ).toBe('CUSTODY_BAD_SIGNATURE');
    expect(codeOf(() => witness.cosign(text, 0n))).toBe('CUSTODY_BAD_INPUT');
    // A cosignature key is not a log key and vice versa.
    expect(codeOf(() => ed25519Verifier(witness.vkey))).toBe('CUSTODY_BAD_VKEY');
    expect(codeOf(() => cosignatureVerifier(log.vkey))).toBe('CUSTODY_BAD_VKEY');
    expect(publicKeyOf(secret)).toHaveLength(32);
  });

  prop.prop([fc.nat(), fc.integer({ min: 1, max: 255 })], { numRuns: 300 })(
    'any changed byte of a signed, cosigned checkpoint is rejected or yields the same checkpoint',
    (at, delta) => {
      const witness = cosigner('witness.test/w', new Uint8Array(32).fill(3));
      const note = signCheckpoint({ origin: log.name, size: 42n, root, extensions: [] }, log);
      const cosigned = addSignatures(note, [
        witness.cosign(note.slice(0, note.indexOf('\n\n') + 1), 1_700_000_000n),
      ]);
      const bytes = Buffer.from(cosigned, 'utf8');
      const i = at % bytes.length;
      bytes[i] = ((bytes[i] as number) + delta) & 0xff;
      let opened: ReturnType<typeof openCheckpoint> | undefined;
      try {
        opened = openCheckpoint(bytes.toString('utf8'), verifier, {
          witnesses: [cosignatureVerifier(witness.vkey)],
        });
      } catch (e) {
        expect(e).toBeInstanceOf(CustodyError);
        return;
      }
      expect(opened.checkpoint.size).toBe(42n);
      expect(toHex(opened.checkpoint.root)).toBe(toHex(root));
    },
  );
});

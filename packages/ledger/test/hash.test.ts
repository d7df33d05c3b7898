import { fc, test as prop } from '@fast-check/vitest';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { expect, test } from 'vitest';
import { toHex, utf8 } from '../src/bytes.js';
import { sha256 } from '../src/hash.js';

test('the FIPS 180-2 examples', () => {
  expect(toHex(sha256(new Uint8Array(0)))).toBe(
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  );
  expect(toHex(sha256(utf8('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('a plain Uint8Array of 32 bytes', () => {
  const digest = sha256(utf8('x'));
  expect(Object.getPrototypeOf(digest)).toBe(Uint8Array.prototype);
  expect(digest.length).toBe(32);
});

prop.prop([fc.uint8Array({ maxLength: 2048 })], { numRuns: 500 })(
  'equals @noble/hashes on any input, views into larger buffers included',
  (data) => {
    expect(toHex(sha256(data))).toBe(toHex(nobleSha256(data)));
    const padded = new Uint8Array(data.length + 8);
    padded.set(data, 3);
    expect(toHex(sha256(padded.subarray(3, 3 + data.length)))).toBe(toHex(nobleSha256(data)));
  },
);

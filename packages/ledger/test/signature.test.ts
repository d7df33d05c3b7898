import { execFile } from 'node:child_process';
import { verify as opensslVerify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Worker } from 'node:worker_threads';
import { fc, test as prop } from '@fast-check/vitest';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { afterAll, describe, expect, test } from 'vitest';
import { concat, fromHex, toHex, utf8 } from '../src/bytes.js';
import {
  generateSecretKey,
  parsePublicKey,
  publicKeyOf,
  SMALL_ORDER,
  sign,
  signatureEncodingOk,
  signerOf,
  verifySignature,
  verifySignatureAsync,
  verifySignatureFast,
  verifyWithRawKey,
} from '../src/signature.js';
import { AUDIT_PRIORITY, VerifyPool } from '../src/verify-pool.js';
import { threadsAtNice } from './helpers.js';
import { vectorText } from './vectors.js';

ed.hashes.sha512 = sha512;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const hex = (h: string) => fromHex(h);
const run = promisify(execFile);
const SMALL_ORDER_HEX = SMALL_ORDER.map(toHex);

interface WycheproofGroup {
  publicKey: { pk: string };
  tests: { tcId: number; comment: string; msg: string; sig: string; result: 'valid' | 'invalid' }[];
}

describe('Project Wycheproof Ed25519', () => {
  const groups = (
    JSON.parse(vectorText('ed25519/wycheproof-ed25519.json')) as { testGroups: WycheproofGroup[] }
  ).testGroups;
  const cases = groups.flatMap((g) => g.tests.map((t) => ({ ...t, pk: g.publicKey.pk })));
  test('all 151 cases are loaded', () => expect(cases).toHaveLength(151));
  test.each(cases.map((c) => [c.tcId, c.comment || c.result, c] as const))('tcId %i: %s', (_id, _c, c) => {
    expect(verifyWithRawKey(hex(c.pk), hex(c.msg), hex(c.sig))).toBe(c.result === 'valid');
  });
});

describe('speccheck edge cases ("Taming the many EdDSAs")', () => {
  const cases = JSON.parse(vectorText('ed25519/speccheck-cases.json')) as {
    message: string;
    pub_key: string;
    signature: string;
  }[];
  // Every case is built to split verifiers: small-order or mixed-order keys
  // and R, S ≥ L, non-canonical encodings. The strict rule refuses them all.
  test.each(cases.map((c, i) => [i, c] as const))('case %i is refused', (_i, c) => {
    expect(verifyWithRawKey(hex(c.pub_key), hex(c.message), hex(c.signature))).toBe(false);
  });
  test('the library default (cofactored, ZIP-215) accepts some of them: the reason for the strict rule', () => {
    const accepted = cases.filter((c) => {
      try {
        return ed.verify(hex(c.signature), hex(c.message), hex(c.pub_key));
      } catch {
        return false;
      }
    });
    expect(accepted.length).toBeGreaterThan(0);
  });
});

/** A point of order 8 (RFC 8032's curve has cofactor 8). */
const ORDER_8 = ed.Point.fromHex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05');

const le = (b: Uint8Array) => [...b].reverse().reduce((n, x) => (n << 8n) | BigInt(x), 0n);
const scalarBytes = (n: bigint) =>
  Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));

/** An honest key holder's signature whose R carries an order-8 component. */
function craftMixedOrderSignature(secret: Uint8Array, message: Uint8Array): Uint8Array {
  const { scalar: a, pointBytes: A } = ed.utils.getExtendedPublicKey(secret);
  const r = (le(sha512(concat(secret, message))) % (L - 1n)) + 1n;
  const R = ed.Point.BASE.multiply(r).add(ORDER_8).toBytes();
  const k = le(sha512(concat(R, A, message))) % L;
  return concat(R, scalarBytes((r + k * a) % L));
}

/** R = the identity, S = k·a: the cofactorless equation holds, and only the small-order check refuses it. */
function craftIdentitySignature(secret: Uint8Array, message: Uint8Array): Uint8Array {
  const { scalar: a, pointBytes: A } = ed.utils.getExtendedPublicKey(secret);
  const R = ed.Point.ZERO.toBytes();
  const k = le(sha512(concat(R, A, message))) % L;
  return concat(R, scalarBytes((k * a) % L));
}

describe('the strict rule', () => {
  test('the order-8 point really has order 8', () => {
    expect(ORDER_8.isSmallOrder()).toBe(true);
    expect(ORDER_8.is0()).toBe(false);
  });

  test('an honest signature verifies; one crafted with an order-8 component in R does not', () => {
    const secret = generateSecretKey();
    const pub = publicKeyOf(secret);
    const message = utf8('custody/event/v1\n{"id":"x"}');
    expect(verifyWithRawKey(pub, message, sign(secret, message))).toBe(true);
    const crafted = craftMixedOrderSignature(secret, message);
    // The cofactored equation accepts it, so verifiers would disagree without the strict rule.
    expect(ed.verify(crafted, message, pub)).toBe(true);
    expect(verifyWithRawKey(pub, message, crafted)).toBe(false);
  });

  test('keys of small order, mixed order or non-canonical encoding are refused', () => {
    const honest = ed.Point.fromBytes(publicKeyOf(generateSecretKey()));
    expect(parsePublicKey(honest.toBytes())).toBeDefined();
    expect(parsePublicKey(ORDER_8.toBytes())).toBeUndefined();
    expect(parsePublicKey(ed.Point.ZERO.toBytes())).toBeUndefined();
    expect(parsePublicKey(honest.add(ORDER_8).toBytes())).toBeUndefined();
    // y = p + 1 encodes the same point as y = 1 (the identity) non-canonically.
    const nonCanonical = scalarBytes(2n ** 255n - 19n + 1n);
    expect(parsePublicKey(nonCanonical)).toBeUndefined();
    expect(parsePublicKey(new Uint8Array(31))).toBeUndefined();
  });

  test('S ≥ L is refused even though S - L would verify', () => {
    const secret = generateSecretKey();
    const message = utf8('m');
    const sig = sign(secret, message);
    const s = le(sig.subarray(32));
    const malleated = concat(sig.subarray(0, 32), scalarBytes(s + L));
    expect(verifyWithRawKey(publicKeyOf(secret), message, malleated)).toBe(false);
  });

  prop.prop([fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.nat(), fc.nat(7)], { numRuns: 200 })(
    'a single-bit change to the message, signature or key is never accepted',
    (message, at, bit) => {
      const secret = generateSecretKey();
      const pub = publicKeyOf(secret);
      const sig = sign(secret, message);
      expect(verifyWithRawKey(pub, message, sig)).toBe(true);
      const flip = (b: Uint8Array) => {
        const out = Uint8Array.from(b);
        const i = at % out.length;
        out[i] = (out[i] as number) ^ (1 << bit);
        return out;
      };
      if (message.length > 0) expect(verifyWithRawKey(pub, flip(message), sig)).toBe(false);
      expect(verifyWithRawKey(pub, message, flip(sig))).toBe(false);
      expect(verifyWithRawKey(flip(pub), message, sig)).toBe(false);
    },
  );

  prop.prop(
    [fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 40 })],
    {
      numRuns: 300,
    },
  )('garbage of any length returns false and never throws', (pub, msg, sig) => {
    expect(verifyWithRawKey(pub, msg, sig)).toBe(false);
  });
});

describe('the fast paths (node:crypto and libsodium behind the strict pre-checks: async, sync, on worker threads) agree with the reference', () => {
  const pools = [new VerifyPool(2, 'libsodium'), new VerifyPool(2, 'openssl')];
  afterAll(() => Promise.all(pools.map((p) => p.close())));
  const agree = async (pub: Uint8Array, message: Uint8Array, sig: Uint8Array) => {
    const key = parsePublicKey(pub);
    const reference = key !== undefined && verifySignature(key, message, sig);
    const fast = key !== undefined && (await verifySignatureAsync(key, message, sig));
    const fastSync = key !== undefined && verifySignatureFast(key, message, sig);
    expect(fast).toBe(reference);
    expect(fastSync).toBe(reference);
    for (const pool of pools) {
      expect(key !== undefined && (await pool.verify(key, message, sig)), pool.engine).toBe(reference);
    }
    return reference;
  };

  test('the pools compute the equation each names', () => {
    expect(pools.map((p) => p.engine)).toEqual(['libsodium', 'openssl']);
    // Where sodium-native loads (it does here), a pool takes it unless told otherwise.
    const pool = new VerifyPool(1);
    expect(pool.engine).toBe('libsodium');
    return pool.close();
  });

  test('a pool stops once, however many ask it to (a worker still exiting gains a listener for each)', async () => {
    const pool = new VerifyPool(2);
    const warnings: Error[] = [];
    const warned = (w: Error) => warnings.push(w);
    process.on('warning', warned);
    const closing = Array.from({ length: 20 }, () => pool.close());
    expect(new Set(closing).size).toBe(1);
    await Promise.all(closing);
    // Node reports a listener leak on the next turn.
    await new Promise((r) => setImmediate(r));
    process.off('warning', warned);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  test('on every Wycheproof and speccheck vector', async () => {
    const groups = (
      JSON.parse(vectorText('ed25519/wycheproof-ed25519.json')) as { testGroups: WycheproofGroup[] }
    ).testGroups;
    let accepted = 0;
    for (const g of groups)
      for (const t of g.tests) if (await agree(hex(g.publicKey.pk), hex(t.msg), hex(t.sig))) accepted++;
    expect(accepted).toBe(88);
    const spec = JSON.parse(vectorText('ed25519/speccheck-cases.json')) as {
      message: string;
      pub_key: string;
      signature: string;
    }[];
    for (const c of spec) expect(await agree(hex(c.pub_key), hex(c.message), hex(c.signature))).toBe(false);
  });

  test('on signatures with an order-8 component in R, from honest keys', async () => {
    for (let i = 0; i < 20; i++) {
      const secret = generateSecretKey();
      const message = utf8(`message ${i}`);
      expect(await agree(publicKeyOf(secret), message, craftMixedOrderSignature(secret, message))).toBe(
        false,
      );
      expect(await agree(publicKeyOf(secret), message, sign(secret, message))).toBe(true);
    }
  });

  test('on R = the identity, signed by the key holder (OpenSSL alone accepts it; libsodium refuses it itself)', async () => {
    const secret = generateSecretKey();
    const message = utf8('identity');
    const key = parsePublicKey(publicKeyOf(secret));
    const crafted = craftIdentitySignature(secret, message);
    expect(key !== undefined && opensslVerify(null, message, key.keyObject, crafted)).toBe(true);
    expect(await agree(publicKeyOf(secret), message, crafted)).toBe(false);
  });

  test('the byte-wise pre-checks equal the integer rule at every edge', () => {
    const P = 2n ** 255n - 19n;
    const S = [0n, 1n, L - 1n, L, L + 1n, 2n ** 253n, 2n ** 256n - 1n];
    const Y = [0n, 1n, 2n, P - 2n, P - 1n, P, P + 1n, 2n ** 255n - 1n];
    const small = new Set(SMALL_ORDER_HEX);
    for (const s of S)
      for (const y of Y)
        for (const signBit of [0n, 2n ** 255n]) {
          const r = scalarBytes(y + signBit);
          const expected =
            s < L && y < P && !(signBit !== 0n && (y === 1n || y === P - 1n)) && !small.has(toHex(r));
          expect(signatureEncodingOk(concat(r, scalarBytes(s))), `S ${s} y ${y} sign ${signBit}`).toBe(
            expected,
          );
        }
  });

  test('on R set to each small-order point and on non-canonical R', async () => {
    const secret = generateSecretKey();
    const message = utf8('m');
    const sig = sign(secret, message);
    for (let k = 0n, p = ed.Point.ZERO; k < 8n; k++, p = p.add(ORDER_8)) {
      expect(await agree(publicKeyOf(secret), message, concat(p.toBytes(), sig.subarray(32)))).toBe(false);
    }
    const nonCanonicalIdentity = scalarBytes(2n ** 255n - 19n + 1n);
    expect(await agree(publicKeyOf(secret), message, concat(nonCanonicalIdentity, sig.subarray(32)))).toBe(
      false,
    );
  });

  test('on S and on the y of R at the edges of their ranges, sign bit set and clear', async () => {
    // The fast path's pre-checks compare these as bytes; the reference as integers.
    const secret = generateSecretKey();
    const message = utf8('edges');
    const sig = sign(secret, message);
    const s = le(sig.subarray(32));
    const P = 2n ** 255n - 19n;
    const R = sig.subarray(0, 32);
    expect(await agree(publicKeyOf(secret), message, sig)).toBe(true);
    for (const edge of [s + L, L, L - 1n, L + 1n, 2n ** 253n, 2n ** 256n - 1n, 0n]) {
      expect(await agree(publicKeyOf(secret), message, concat(R, scalarBytes(edge)))).toBe(false);
    }
    for (const y of [0n, 1n, 2n, P - 2n, P - 1n, P, P + 1n, 2n ** 255n - 1n]) {
      for (const signBit of [0n, 2n ** 255n]) {
        const r = scalarBytes((y + signBit) % 2n ** 256n);
        expect(await agree(publicKeyOf(secret), message, concat(r, sig.subarray(32)))).toBe(false);
      }
    }
  });

  prop.prop([fc.uint8Array({ maxLength: 64 }), fc.nat(63), fc.nat(7), fc.boolean()], { numRuns: 400 })(
    'on a fuzzed corpus of mutated signatures',
    async (message, at, bit, mutate) => {
      const secret = generateSecretKey();
      const sig = sign(secret, message);
      if (mutate) sig[at] = (sig[at] as number) ^ (1 << bit);
      await agree(publicKeyOf(secret), message, sig);
    },
  );
});

prop.prop([fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 })], {
  numRuns: 200,
})('signing through OpenSSL with a prepared key gives noble’s bytes exactly', (secret, message) => {
  expect(toHex(signerOf(secret)(message))).toBe(toHex(sign(secret, message)));
});

describe('the verification threads', () => {
  test.each(['libsodium', 'openssl'] as const)(
    'answer each check of a batch for its own key, message and signature (%s)',
    async (engine) => {
      const pool = new VerifyPool(2, engine);
      const secrets = [generateSecretKey(), generateSecretKey(), generateSecretKey()];
      const keys = secrets.map(
        (s) => parsePublicKey(publicKeyOf(s)) as NonNullable<ReturnType<typeof parsePublicKey>>,
      );
      // 1,000 checks in one go: several batches on both threads, answered out of step with each other.
      const checks = Array.from({ length: 1000 }, (_, i) => {
        const signer = i % 3;
        const message = utf8(`message ${i}`);
        const sig = sign(secrets[signer] as Uint8Array, message);
        if (i % 7 === 0) sig[40] = (sig[40] as number) ^ 1;
        const key = keys[i % 5 === 0 ? (signer + 1) % 3 : signer] as (typeof keys)[0];
        return { expected: i % 7 !== 0 && i % 5 !== 0, answer: pool.verify(key, message, sig) };
      });
      const answers = await Promise.all(checks.map((c) => c.answer));
      expect(answers).toEqual(checks.map((c) => c.expected));
      await pool.close();
    },
  );

  test('keep a process alive while checks wait, and only then: one that leaves its pool open still exits', async () => {
    const source = fileURLToPath(new URL('../src/verify-pool.ts', import.meta.url));
    const signature = fileURLToPath(new URL('../src/signature.ts', import.meta.url));
    const program = `
      import { VerifyPool } from ${JSON.stringify(source)};
      import { generateSecretKey, parsePublicKey, publicKeyOf, sign } from ${JSON.stringify(signature)};
      const secret = generateSecretKey();
      const message = new Uint8Array([1, 2, 3]);
      const pool = new VerifyPool();
      console.log(await pool.verify(parsePublicKey(publicKeyOf(secret)), message, sign(secret, message)));`;
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', program],
      {
        timeout: 20_000,
      },
    );
    expect(stdout.trim()).toBe('true');
  });

  test("where sodium-native cannot be loaded, compute OpenSSL's equation, and refuse to be told otherwise", async () => {
    const source = fileURLToPath(new URL('../src/verify-pool.ts', import.meta.url));
    const signature = fileURLToPath(new URL('../src/signature.ts', import.meta.url));
    // A platform without a build of it, as far as resolving it goes (patched before the pool's module loads).
    const program = `
      import M from 'node:module';
      const resolve = M._resolveFilename;
      M._resolveFilename = function (request, ...rest) {
        if (request === 'sodium-native') throw Object.assign(new Error('not here'), { code: 'MODULE_NOT_FOUND' });
        return resolve.call(this, request, ...rest);
      };
      const { VerifyPool } = await import(${JSON.stringify(source)});
      const { generateSecretKey, parsePublicKey, publicKeyOf, sign } = await import(${JSON.stringify(signature)});
      const secret = generateSecretKey();
      const key = parsePublicKey(publicKeyOf(secret));
      const message = new Uint8Array([1, 2, 3]);
      const good = sign(secret, message);
      const bad = Uint8Array.from(good); bad[40] ^= 1;
      const pool = new VerifyPool(2);
      console.log(pool.engine, await pool.verify(key, message, good), await pool.verify(key, message, bad));
      await pool.close();
      try { new VerifyPool(1, 'libsodium'); console.log('made'); } catch (e) { console.log(e.code, e.message); }`;
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', program],
      {
        timeout: 20_000,
      },
    );
    expect(stdout.trim().split('\n')).toEqual([
      'openssl true false',
      'CUSTODY_UNAVAILABLE libsodium (sodium-native) cannot be loaded here; use the openssl engine',
    ]);
  });

  test('refuse, with their code, a size or an engine they cannot use', () => {
    for (const size of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new VerifyPool(size), String(size)).toThrow(
        expect.objectContaining({
          code: 'CUSTODY_BAD_INPUT',
          message: expect.stringContaining('1 thread or more'),
        }),
      );
    }
    expect(() => new VerifyPool(1, 'gpu' as 'openssl')).toThrow(
      expect.objectContaining({
        code: 'CUSTODY_BAD_INPUT',
        message: 'no verification engine "gpu"; use libsodium or openssl',
      }),
    );
    for (const priority of [-1, 20, 1.5, Number.NaN]) {
      expect(() => new VerifyPool(1, undefined, priority), String(priority)).toThrow(
        expect.objectContaining({
          code: 'CUSTODY_BAD_INPUT',
          message: `a verification pool's priority is 0 (the process's) to 19 (the lowest), not ${priority}`,
        }),
      );
    }
  });

  test.runIf(process.platform === 'linux')('run their threads at the priority asked, on Linux', async () => {
    const secret = generateSecretKey();
    const key = parsePublicKey(publicKeyOf(secret)) as NonNullable<ReturnType<typeof parsePublicKey>>;
    const message = utf8('m');
    const sig = sign(secret, message);
    const started = async (pool: VerifyPool) => {
      // One check a thread: each has run its start by the time it answers.
      expect(await Promise.all([pool.verify(key, message, sig), pool.verify(key, message, sig)])).toEqual([
        true,
        true,
      ]);
      return pool;
    };
    const before = threadsAtNice(AUDIT_PRIORITY);
    const lowered = await started(new VerifyPool(2, undefined, AUDIT_PRIORITY));
    const normal = await started(new VerifyPool(2));
    try {
      expect(AUDIT_PRIORITY).toBe(10);
      // The two lowered threads, and not this thread nor the normal pool's.
      expect(threadsAtNice(AUDIT_PRIORITY)).toBe(before + 2);
      expect(threadsAtNice(0)).toBeGreaterThanOrEqual(3);
    } finally {
      await Promise.all([lowered.close(), normal.close()]);
    }
  });

  test('refuse what is still waiting when stopped or when a thread dies, and every check after', async () => {
    const secret = generateSecretKey();
    const key = parsePublicKey(publicKeyOf(secret)) as NonNullable<ReturnType<typeof parsePublicKey>>;
    const message = utf8('m');
    const sig = sign(secret, message);
    const pool = new VerifyPool(1);
    expect(await pool.verify(key, message, sig)).toBe(true);
    const waiting = expect(pool.verify(key, message, sig)).rejects.toThrow(
      expect.objectContaining({
        code: 'CUSTODY_UNAVAILABLE',
        message: 'the verification threads were stopped',
      }),
    );
    await pool.close();
    await waiting;
    await expect(pool.verify(key, message, sig)).rejects.toThrow('stopped');
    // A bad encoding needs no thread: refused at once, even now.
    expect(await pool.verify(key, message, new Uint8Array(64).fill(0xff))).toBe(false);

    // A thread that dies under its checks (reached through the private field, as nothing public kills one).
    const dying = new VerifyPool(1);
    // Batches answered before it died stand; every later check is refused, none left hanging.
    const checks = Array.from({ length: 3000 }, () =>
      dying.verify(key, message, sig).then(
        (ok) => (ok ? 'verified' : 'not valid'),
        (e: Error) => e.message,
      ),
    );
    await new Promise((resolve) => setImmediate(resolve));
    await (dying as unknown as { threads: { worker: Worker }[] }).threads[0]?.worker.terminate();
    const outcomes = await Promise.all(checks);
    expect(new Set(outcomes)).toContain('a verification thread stopped');
    expect(outcomes.filter((o) => o !== 'verified' && o !== 'a verification thread stopped')).toEqual([]);
    expect(outcomes.at(-1)).toBe('a verification thread stopped');
    await expect(dying.verify(key, message, sig)).rejects.toThrow('a verification thread stopped');
    await dying.close();
  });
});

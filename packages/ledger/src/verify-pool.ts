/**
 * Ed25519 checks in bulk on worker threads of their own: a node's pre-checks
 * and an audit, which checks every signature of the log. On libuv's thread
 * pool (as verifySignatureAsync does) they queue in the one FIFO queue
 * LevelDB's reads use too: the audit's next read waited behind a chunk's
 * worth of verifies, then the pool waited for the audit to parse it, and both
 * cores idled by turns. Here the reads keep the thread pool to themselves.
 *
 * Same rule as verifySignatureAsync: the strict encoding checks on the
 * calling thread, the cofactorless equation on a worker; the agreement test
 * holds it to the reference on the same vectors. The equation is libsodium's
 * (sodium-native) where it loads, OpenSSL's otherwise: libsodium takes about
 * 40 % less CPU a check (BENCHMARKS.md), and on what passes the pre-checks
 * and the key checks both compute the same equation (libsodium's own checks,
 * S < L and neither R nor A of small order, are implied by ours).
 */
import { createRequire } from 'node:module';
import { availableParallelism, constants } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CustodyError } from './errors.js';
import { type PublicKey, signatureEncodingOk } from './signature.js';

/** Whose equation a pool's workers compute. */
export type VerifyEngine = 'libsodium' | 'openssl';

let sodiumPath: string | null | undefined;

/**
 * Where sodium-native is, once it has loaded here (so a worker will load it
 * too); undefined if it cannot be found or loaded on this platform.
 */
function libsodium(): string | undefined {
  if (sodiumPath === undefined) {
    try {
      const require = createRequire(import.meta.url);
      sodiumPath = require.resolve('sodium-native');
      require(sodiumPath);
    } catch {
      sodiumPath = null;
    }
  }
  return sodiumPath ?? undefined;
}

/**
 * The worker, as source: a module file would have to be found next to
 * whichever bundle the library was loaded from. It runs as CommonJS or as a
 * module, as the process's flags decide, so it takes its built-ins from
 * process.getBuiltinModule. A batch comes as one buffer, transferred, not
 * copied (see Packed); the answers go back as one byte each.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const { createPublicKey, verify } = process.getBuiltinModule('node:crypto');
const sodium = workerData.sodium === undefined
  ? undefined
  : process.getBuiltinModule('node:module').createRequire(workerData.sodium)(workerData.sodium);
if (workerData.priority !== 0) {
  // Priority is per thread on Linux, and a thread's id is only found there,
  // in /proc; elsewhere the threads keep the process's priority.
  try {
    const tid = Number(process.getBuiltinModule('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isSafeInteger(tid) && tid > 0) process.getBuiltinModule('node:os').setPriority(tid, workerData.priority);
  } catch {}
}
const keyObjects = new Map();
const keyObject = (raw) => {
  const x = Buffer.from(raw).toString('base64url');
  let key = keyObjects.get(x);
  if (key === undefined) {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
    keyObjects.set(x, key);
  }
  return key;
};
parentPort.on('message', ({ bytes, keyOf, ends }) => {
  const count = keyOf.length;
  const signatures = ends[count - 1];
  const keysAt = signatures + 64 * count;
  const raw = [];
  for (let at = keysAt; at < bytes.length; at += 32) raw.push(bytes.subarray(at, at + 32));
  const keys = sodium === undefined ? raw.map(keyObject) : raw;
  const answers = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    try {
      const message = bytes.subarray(i === 0 ? 0 : ends[i - 1], ends[i]);
      const signature = bytes.subarray(signatures + 64 * i, signatures + 64 * i + 64);
      const ok = sodium === undefined
        ? verify(null, message, keys[keyOf[i]], signature)
        : sodium.crypto_sign_verify_detached(signature, message, keys[keyOf[i]]);
      answers[i] = ok ? 1 : 0;
    } catch {
      answers[i] = 0;
    }
  }
  parentPort.postMessage(answers, [answers.buffer]);
});
`;

/** The priority of an audit's threads (see the VerifyPool constructor): below its own thread's. */
export const AUDIT_PRIORITY = constants.priority.PRIORITY_BELOW_NORMAL;

/** Checks sent to a worker together: enough to make a message's cost small beside 256 verifies. */
const BATCH = 256;

interface Batch {
  readonly keys: Uint8Array[];
  readonly slots: Map<PublicKey, number>;
  readonly keyOf: number[];
  readonly messages: Uint8Array[];
  readonly signatures: Uint8Array[];
  readonly answers: { resolve: (ok: boolean) => void; reject: (e: Error) => void }[];
}

const emptyBatch = (): Batch => ({
  keys: [],
  slots: new Map(),
  keyOf: [],
  messages: [],
  signatures: [],
  answers: [],
});

/**
 * Checks as one buffer for a worker: messages back to back, then their
 * 64-byte signatures, then the 32-byte keys; `ends[i]` is where message i
 * ends, `keyOf[i]` which key it is checked under (a batch has at most BATCH
 * checks, so at most as many keys). Sent as a transfer: a structured clone
 * of hundreds of small arrays left as many allocations in the worker, about
 * 10 MB more held after 100,000 checks (BENCHMARKS.md, item 47); the sending
 * thread pays about the same either way.
 */
interface Packed {
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly keyOf: Uint16Array<ArrayBuffer>;
  readonly ends: Uint32Array<ArrayBuffer>;
}

function pack(batch: Batch, from: number, to: number): Packed {
  const count = to - from;
  const ends = new Uint32Array(count);
  let length = 0;
  for (let i = 0; i < count; i++) {
    length += (batch.messages[from + i] as Uint8Array).length;
    ends[i] = length;
  }
  const bytes = new Uint8Array(length + 64 * count + 32 * batch.keys.length);
  let at = 0;
  for (let i = from; i < to; i++) {
    bytes.set(batch.messages[i] as Uint8Array, at);
    at += (batch.messages[i] as Uint8Array).length;
  }
  for (let i = from; i < to; i++, at += 64) bytes.set(batch.signatures[i] as Uint8Array, at);
  for (const key of batch.keys) {
    bytes.set(key, at);
    at += 32;
  }
  return { bytes, keyOf: Uint16Array.from(batch.keyOf.slice(from, to)), ends };
}

/** Why checks are refused once a pool cannot answer them. */
const stopped = (why: string) => new CustodyError('CUSTODY_UNAVAILABLE', why, 503);

interface Thread {
  readonly worker: Worker;
  /** Batches sent and not answered, oldest first: a worker answers in order. */
  readonly waiting: Batch['answers'][];
}

export class VerifyPool {
  /** Whose equation the workers compute: libsodium's where it loads, unless asked for OpenSSL. */
  readonly engine: VerifyEngine;
  private readonly threads: Thread[];
  private next = 0;
  private batch = emptyBatch();
  private sendScheduled = false;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  /**
   * `priority` is the threads' on os.setPriority's scale, 0 (the process's)
   * to 19 (lowest). A job whose own thread is its bottleneck, with nothing
   * else to serve, gives its threads a lower one: an audit's thread reads,
   * parses and hashes every entry while the threads only verify, and at the
   * same priority it spent a fifth of its time waiting for a core they held
   * (BENCHMARKS.md, item 58). Set where Linux lets a thread set its own.
   */
  constructor(size = availableParallelism(), engine?: VerifyEngine, priority = 0) {
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new CustodyError('CUSTODY_BAD_INPUT', `a verification pool needs 1 thread or more, not ${size}`);
    }
    if (!Number.isSafeInteger(priority) || priority < 0 || priority > 19) {
      throw new CustodyError(
        'CUSTODY_BAD_INPUT',
        `a verification pool's priority is 0 (the process's) to 19 (the lowest), not ${priority}`,
      );
    }
    if (engine !== undefined && engine !== 'libsodium' && engine !== 'openssl') {
      throw new CustodyError(
        'CUSTODY_BAD_INPUT',
        `no verification engine ${JSON.stringify(engine)}; use libsodium or openssl`,
      );
    }
    const sodium = engine === 'openssl' ? undefined : libsodium();
    if (engine === 'libsodium' && sodium === undefined) {
      throw new CustodyError(
        'CUSTODY_UNAVAILABLE',
        'libsodium (sodium-native) cannot be loaded here; use the openssl engine',
        503,
      );
    }
    this.engine = sodium === undefined ? 'openssl' : 'libsodium';
    this.threads = Array.from({ length: size }, () => this.start(sodium, priority));
  }

  /** A pool for an audit: a thread a core, at AUDIT_PRIORITY (see the constructor). */
  static forAudit(): VerifyPool {
    return new VerifyPool(undefined, undefined, AUDIT_PRIORITY);
  }

  /**
   * True only if `signature` is valid for `message` under `key` by the strict
   * rule. Rejects only if a worker fails, never for a bad signature.
   */
  verify(key: PublicKey, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (!(message instanceof Uint8Array) || !signatureEncodingOk(signature)) return Promise.resolve(false);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const batch = this.batch;
      let slot = batch.slots.get(key);
      if (slot === undefined) {
        slot = batch.keys.push(key.bytes) - 1;
        batch.slots.set(key, slot);
      }
      batch.keyOf.push(slot);
      batch.messages.push(message);
      batch.signatures.push(signature);
      batch.answers.push({ resolve, reject });
      if (batch.answers.length >= BATCH) this.send();
      else if (!this.sendScheduled) {
        // A partial batch goes out once the caller yields.
        this.sendScheduled = true;
        setImmediate(() => {
          this.sendScheduled = false;
          this.send();
        });
      }
    });
  }

  /**
   * Stops the workers; checks still waiting are refused. Once: a ledger
   * whose checks fail as the threads stop asks again for each of them, and
   * every terminate() of a worker not yet gone adds a listener to it.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.fail(stopped('the verification threads were stopped'));
      await Promise.all(this.threads.map(({ worker }) => worker.terminate()));
    })();
    return this.closing;
  }

  private send(): void {
    const batch = this.batch;
    if (batch.answers.length === 0) return;
    this.batch = emptyBatch();
    // Shared out over the threads: a node's pre-checks leave in the handfuls
    // that arrived in one turn of the event loop, and one thread checking a
    // handful alone while the other idles made each request wait longer.
    const count = batch.answers.length;
    const parts = Math.min(this.threads.length, count);
    for (let part = 0; part < parts; part++) {
      const from = Math.floor((part * count) / parts);
      const to = Math.floor(((part + 1) * count) / parts);
      const thread = this.threads[this.next++ % this.threads.length] as Thread;
      // Checks waiting keep the process alive, as a request on a socket would.
      if (thread.waiting.length === 0) thread.worker.ref();
      thread.waiting.push(batch.answers.slice(from, to));
      const packed = pack(batch, from, to);
      thread.worker.postMessage(packed, [packed.bytes.buffer, packed.keyOf.buffer, packed.ends.buffer]);
    }
  }

  private start(sodium: string | undefined, priority: number): Thread {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { sodium, priority } });
    const thread: Thread = { worker, waiting: [] };
    worker.on('message', (answers: Uint8Array) => {
      const waiting = thread.waiting.shift() ?? [];
      if (thread.waiting.length === 0) worker.unref();
      for (const [i, { resolve }] of waiting.entries()) resolve(answers[i] === 1);
    });
    worker.on('error', (e) => this.fail(stopped(`a verification thread failed: ${e.message}`)));
    worker.on('exit', () => this.fail(stopped('a verification thread stopped')));
    // Idle, never what keeps a process alive (after the listeners: adding a
    // message listener refs the worker's port again).
    worker.unref();
    return thread;
  }

  /** Refuses every check not answered yet, and every later one. */
  private fail(failure: Error): void {
    this.failure ??= failure;
    const refused = [this.batch.answers, ...this.threads.flatMap((t) => t.waiting.splice(0))];
    this.batch = emptyBatch();
    for (const answers of refused) for (const { reject } of answers) reject(this.failure);
  }
}

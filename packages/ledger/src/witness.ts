/**
 * A witness (c2sp.org/tlog-witness): cosigns a log's checkpoint only if it is
 * consistent with the last one it cosigned for that origin, and remembers the
 * new one durably before answering. Checking the old size and storing the new
 * state are one step per origin, so two requests can never roll it back.
 */
import type { Level } from 'level';
import { equalBytes, fromBase64, fromHex, parseUint64, toHex } from './bytes.js';
import { type Cosigner, openCheckpoint, parseCheckpoint } from './checkpoint.js';
import { CustodyError } from './errors.js';
import { EMPTY_ROOT, HASH_SIZE, verifyConsistency } from './merkle.js';
import { formatSignatureLine, type NoteVerifier, parseNote } from './note.js';

/** What the witness remembers per origin: the latest checkpoint it cosigned. */
export interface WitnessRecord {
  readonly size: string;
  /** Hex root. */
  readonly root: string;
  readonly checkpoint: string;
}

export interface WitnessStore {
  get(origin: string): Promise<WitnessRecord | undefined>;
  /** Must be durable when it resolves. */
  put(origin: string, record: WitnessRecord): Promise<void>;
}

/** An HTTP-shaped answer, as the spec defines them. */
export interface WitnessAnswer {
  readonly status: 200 | 400 | 403 | 404 | 409 | 422;
  readonly body: string;
  readonly contentType: string;
}

const MAX_PROOF_LINES = 63;
const text = (status: WitnessAnswer['status'], body: string): WitnessAnswer => ({
  status,
  body: `${body}\n`,
  contentType: 'text/plain; charset=utf-8',
});

export class Witness {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    readonly cosigner: Cosigner,
    /** The logs it witnesses: origin → the keys that may sign its checkpoints. */
    private readonly logs: ReadonlyMap<string, readonly NoteVerifier[]>,
    private readonly store: WitnessStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Handles one add-checkpoint request body. Never throws for anything in the body. */
  async addCheckpoint(body: string): Promise<WitnessAnswer> {
    let old: bigint;
    let proof: Uint8Array[];
    let note: string;
    try {
      ({ old, proof, note } = parseRequest(body));
    } catch (e) {
      return text(400, (e as Error).message);
    }
    let origin: string;
    try {
      origin = parseCheckpoint(parseNote(note).text).origin;
    } catch (e) {
      return text(400, `the checkpoint is malformed: ${(e as Error).message}`);
    }
    const keys = this.logs.get(origin);
    if (keys === undefined) return text(404, `this witness does not witness ${origin}`);
    let checkpoint: ReturnType<typeof openCheckpoint>['checkpoint'] | undefined;
    for (const key of keys) {
      try {
        checkpoint = openCheckpoint(note, key, { origin }).checkpoint;
        break;
      } catch {
        // try the next key of this origin
      }
    }
    if (checkpoint === undefined) return text(403, `no trusted key of ${origin} signed this checkpoint`);
    if (old > checkpoint.size)
      return text(400, `old size ${old} is above the checkpoint size ${checkpoint.size}`);
    const verified = checkpoint;
    return this.locked(origin, () => this.decide(origin, old, proof, note, verified));
  }

  /** The check against the stored state and the store of the new one, atomically per origin. */
  private async decide(
    origin: string,
    old: bigint,
    proof: Uint8Array[],
    note: string,
    checkpoint: ReturnType<typeof openCheckpoint>['checkpoint'],
  ): Promise<WitnessAnswer> {
    const record = await this.store.get(origin);
    const stored = record === undefined ? 0n : BigInt(record.size);
    if (old !== stored) return { status: 409, body: `${stored}\n`, contentType: 'text/x.tlog.size' };
    if (record !== undefined && checkpoint.size === stored && toHex(checkpoint.root) !== record.root) {
      return { status: 409, body: `${stored}\n`, contentType: 'text/x.tlog.size' };
    }
    if (old === 0n) {
      if (proof.length > 0) return text(422, 'a proof from size 0 must be empty');
      if (checkpoint.size === 0n && !equalBytes(checkpoint.root, EMPTY_ROOT))
        return text(422, 'an empty tree has the empty root');
    } else if (record !== undefined && checkpoint.size > old) {
      const ok = verifyConsistency(
        old,
        checkpoint.size,
        proof,
        fromHex(record.root, HASH_SIZE),
        checkpoint.root,
      );
      if (!ok) return text(422, `the consistency proof from ${old} to ${checkpoint.size} does not verify`);
    }
    await this.store.put(origin, {
      size: checkpoint.size.toString(),
      root: toHex(checkpoint.root),
      checkpoint: note,
    });
    const timestamp = BigInt(Math.max(1, Math.floor(this.clock().getTime() / 1000)));
    const checkpointText = parseNote(note).text;
    return {
      status: 200,
      body: formatSignatureLine(this.cosigner.cosign(checkpointText, timestamp)),
      contentType: 'text/plain; charset=utf-8',
    };
  }

  private locked<T>(origin: string, run: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(origin) ?? Promise.resolve();
    const next = previous.then(run, run);
    this.locks.set(
      origin,
      next.catch(() => undefined),
    );
    return next;
  }
}

function parseRequest(body: string): { old: bigint; proof: Uint8Array[]; note: string } {
  const fail = (why: string) => new CustodyError('CUSTODY_BAD_INPUT', why);
  if (typeof body !== 'string') throw fail('the body must be text');
  const split = body.indexOf('\n\n');
  if (split < 0) throw fail('the body needs an old size line, proof lines, an empty line and the checkpoint');
  const lines = body.slice(0, split).split('\n');
  const oldLine = lines.shift() ?? '';
  if (!oldLine.startsWith('old ')) throw fail('the first line must be "old <size>"');
  const old = parseUint64(oldLine.slice(4), 'old size');
  if (lines.length > MAX_PROOF_LINES) throw fail(`at most ${MAX_PROOF_LINES} proof lines`);
  const proof = lines.map((l) => fromBase64(l, HASH_SIZE, 'proof line'));
  return { old, proof, note: body.slice(split + 2) };
}

/** A witness's state in its own LevelDB folder, each write synced before it resolves. */
export class LevelWitnessStore implements WitnessStore {
  private constructor(private readonly db: Level<string, string>) {}

  static async open(dir: string): Promise<LevelWitnessStore> {
    const { Level } = await import('level'); // loaded on use, as in store.ts
    const db = new Level<string, string>(dir, { valueEncoding: 'utf8' });
    await db.open();
    return new LevelWitnessStore(db);
  }

  async get(origin: string): Promise<WitnessRecord | undefined> {
    const value = await this.db.get(origin);
    return value === undefined ? undefined : (JSON.parse(value) as WitnessRecord);
  }

  async put(origin: string, record: WitnessRecord): Promise<void> {
    await this.db.put(origin, JSON.stringify(record), { sync: true });
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

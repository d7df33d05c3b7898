/**
 * Mirror mode: follow another node. Each round pulls its checkpoint, checks
 * it against the last one accepted (same size: same root; larger: a
 * consistency proof; smaller: a rollback), pulls the missing entries as
 * tlog-tiles entry bundles, and has the ledger replicate them, which verifies
 * every signature, the chain and the root. A source caught presenting an
 * inconsistent checkpoint is never followed again: both signed checkpoints
 * are kept as evidence, the alarm is raised in logs, metrics and /healthz,
 * and the mirror goes on serving what it verified.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import {
  ed25519Verifier,
  fromBase64,
  type Ledger,
  openCheckpoint,
  parseEntryBundle,
  TILE_WIDTH,
  tilePath,
  verifyConsistency,
} from '@custody/ledger';
import type { FastifyBaseLogger } from 'fastify';

/**
 * Entries replicated in one part of a catch-up (sixteen entry bundles): what
 * a part holds in memory while it is admitted is about 14 KB an entry.
 */
const CATCH_UP_PART = 16 * TILE_WIDTH;

export interface MirrorAlarm {
  readonly reason: string;
  /** The checkpoint this mirror had accepted. */
  readonly accepted: string;
  /** The checkpoint the source then presented. */
  readonly presented: string;
  readonly at: string;
}

export interface MirrorStatus {
  readonly source: string;
  readonly following: boolean;
  readonly size: number;
  readonly lastSync?: string;
  readonly alarm?: MirrorAlarm;
}

export class Follower {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private alarm: MirrorAlarm | undefined;
  private lastSync: string | undefined;

  constructor(
    private readonly ledger: Ledger,
    readonly source: string,
    private readonly intervalMs: number,
    /** Where the evidence of an inconsistent source is kept (it survives restarts). */
    private readonly evidenceFile: string,
    private readonly log: FastifyBaseLogger,
    /** Entries replicated in one part of a catch-up (see CATCH_UP_PART). */
    private readonly part = CATCH_UP_PART,
  ) {}

  status(): MirrorStatus {
    return {
      source: this.source,
      following: this.alarm === undefined && !this.stopped,
      size: this.ledger.size,
      ...(this.lastSync === undefined ? {} : { lastSync: this.lastSync }),
      ...(this.alarm === undefined ? {} : { alarm: this.alarm }),
    };
  }

  async start(): Promise<void> {
    try {
      this.alarm = JSON.parse(await readFile(this.evidenceFile, 'utf8')) as MirrorAlarm;
      this.log.error({ alarm: this.alarm }, 'mirror alarm from an earlier run: not following the source');
      return;
    } catch {
      // no evidence on file: follow
    }
    const tick = async () => {
      this.running = this.syncOnce().catch((error) =>
        this.log.warn({ err: error, source: this.source }, 'mirror round failed; retrying'),
      );
      await this.running;
      if (!this.stopped && this.alarm === undefined) this.timer = setTimeout(tick, this.intervalMs);
    };
    await tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
  }

  /** One round: catch up with the source's latest checkpoint, or raise the alarm. */
  async syncOnce(): Promise<void> {
    if (this.alarm !== undefined) return;
    const verifier = ed25519Verifier(this.ledger.logVkey);
    const presented = await this.text('checkpoint');
    let theirs: ReturnType<typeof openCheckpoint>['checkpoint'];
    try {
      theirs = openCheckpoint(presented, verifier).checkpoint;
    } catch (error) {
      this.log.warn(
        { err: error, source: this.source },
        'the source served a checkpoint its key did not sign; ignored',
      );
      return;
    }
    // The latest tree accepted, which a mirror may still be catching up to.
    const accepted = this.ledger.accepted;
    if (accepted !== '') {
      const ours = openCheckpoint(accepted, verifier).checkpoint;
      if (theirs.size < ours.size)
        return this.raise(
          'the source presents a smaller tree than one it signed before: it rolled back',
          accepted,
          presented,
        );
      if (theirs.size === ours.size) {
        if (Buffer.compare(theirs.root, ours.root) !== 0)
          return this.raise(
            'the source signed two different trees of the same size: it forked',
            accepted,
            presented,
          );
        if (this.ledger.size === Number(ours.size)) {
          // The same tree, perhaps with cosignatures gathered since: serve the fuller note.
          if (presented.length > accepted.length) await this.ledger.replicate([], presented);
          this.lastSync = new Date().toISOString();
          return;
        }
      } else if (
        !verifyConsistency(
          ours.size,
          theirs.size,
          await this.proof(ours.size, theirs.size),
          ours.root,
          theirs.root,
        )
      ) {
        return this.raise(
          'the source’s new tree does not extend the one it signed before: it forked or rewrote history',
          accepted,
          presented,
        );
      }
    }
    const size = Number(theirs.size);
    // In parts of bounded size, each shown by a consistency proof to lead to
    // the signed tree: a new mirror of a long log would otherwise hold every
    // entry, and everything admitting them writes, in memory at once.
    for (let from = this.ledger.size; from < size; ) {
      const to = Math.min(size, (Math.floor(from / this.part) + 1) * this.part);
      const leaves = await this.entries(from, to);
      try {
        await this.ledger.replicate(
          leaves,
          presented,
          to < size ? await this.proof(to, theirs.size) : undefined,
        );
      } catch (error) {
        const e = error as { code?: string; message?: string };
        if (e.code === 'CUSTODY_BAD_PROOF' || e.code === 'CUSTODY_BAD_SIGNATURE') {
          return this.raise(`the source’s entries do not hold up: ${e.message}`, accepted, presented);
        }
        throw error;
      }
      if (to < size) this.log.info({ size: to, of: size, source: this.source }, 'mirror catching up');
      from = to;
    }
    this.lastSync = new Date().toISOString();
    this.log.info({ size: this.ledger.size, source: this.source }, 'mirror caught up');
  }

  /** The source's consistency proof between two of its tree sizes. */
  private async proof(from: bigint | number, to: bigint): Promise<Uint8Array[]> {
    const { proof } = JSON.parse(await this.text(`v1/proof/consistency?from=${from}&to=${to}`)) as {
      proof: string[];
    };
    return proof.map((p) => fromBase64(p));
  }

  /** Entries [from, to) as the source's entry bundles (c2sp.org/tlog-tiles). */
  private async entries(from: number, to: number): Promise<Uint8Array[]> {
    const leaves: Uint8Array[] = [];
    for (let bundle = Math.floor(from / TILE_WIDTH); bundle * TILE_WIDTH < to; bundle++) {
      const width = Math.min(TILE_WIDTH, to - bundle * TILE_WIDTH);
      const path = tilePath({ level: 'entries', index: bundle, ...(width < TILE_WIDTH ? { width } : {}) });
      // A malformed bundle is not signed evidence of anything: it fails this round, which is retried.
      const bundleLeaves = parseEntryBundle(new Uint8Array(await this.bytes(path)), width);
      leaves.push(...bundleLeaves.slice(Math.max(0, from - bundle * TILE_WIDTH)));
    }
    return leaves;
  }

  private async raise(reason: string, accepted: string, presented: string): Promise<void> {
    this.alarm = { reason, accepted, presented, at: new Date().toISOString() };
    const tmp = `${this.evidenceFile}.tmp`;
    await writeFile(tmp, `${JSON.stringify(this.alarm, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, this.evidenceFile);
    this.log.error(
      { alarm: this.alarm },
      `MIRROR ALARM: ${reason}; stopped following ${this.source}, evidence kept in ${this.evidenceFile}`,
    );
  }

  private async fetch(path: string): Promise<Response> {
    const response = await fetch(new URL(path, this.source.endsWith('/') ? this.source : `${this.source}/`), {
      signal: AbortSignal.timeout(30_000),
    });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response;
  }

  private async text(path: string): Promise<string> {
    return (await this.fetch(path)).text();
  }

  private async bytes(path: string): Promise<ArrayBuffer> {
    return (await this.fetch(path)).arrayBuffer();
  }
}

/**
 * Group commit (DESIGN.md "The write path"): submissions wait in a bounded
 * queue; whenever the ledger can take a group, everything queued (up to a
 * group's maximum) becomes the next group, one durable batch and one
 * checkpoint. Requests that arrive meanwhile join the next group, so a burst
 * costs one fsync per group, not per event. The ledger takes the next group
 * once the one before it is sequenced (Ledger.sequence), so that one group is
 * admitted while the one before it is written; never more than two at once.
 */
import { CustodyError, type Ledger, type Outcome } from '@custody/ledger';

interface Waiting {
  readonly input: unknown;
  readonly resolve: (outcome: Outcome) => void;
  readonly reject: (error: unknown) => void;
}

export interface BatcherOptions {
  /** Submissions that may wait; beyond this the node answers 503. */
  readonly maxQueue: number;
  /** Submissions in one group at most. */
  readonly maxGroup: number;
  /** Called after each group with its outcomes and how long it took. */
  readonly onGroup?: (outcomes: readonly Outcome[], seconds: number) => void;
  /**
   * Awaited after a group is written and before its submitters are answered
   * (e.g. to gather witness cosignatures for the new checkpoint). It must not
   * fail; its own errors are its own to handle. Calls never overlap, and
   * come in the groups' order: two groups in flight are written back to
   * back, and a witness asked about both checkpoints at once could take the
   * later first and refuse the earlier.
   */
  readonly afterGroup?: () => Promise<void>;
}

/** One group written, the next sequenced behind it. */
const MAX_IN_FLIGHT = 2;

export class Batcher {
  private queue: Waiting[] = [];
  /** A group is being sequenced: the next waits for it, so that it takes everything queued meanwhile. */
  private sequencing = false;
  /** Groups sequenced or being sequenced whose outcomes are not in yet. */
  private inFlight = 0;
  /** The last afterGroup call; the next waits for it. */
  private lastAfterGroup: Promise<void> = Promise.resolve();
  private closed = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly ledger: Ledger,
    private readonly options: BatcherOptions,
  ) {}

  get depth(): number {
    return this.queue.length;
  }

  submit(input: unknown): Promise<Outcome> {
    if (this.closed) {
      return Promise.reject(
        new CustodyError(
          'CUSTODY_UNAVAILABLE',
          'the node is shutting down; retry against it once it is back',
          503,
        ),
      );
    }
    if (this.queue.length >= this.options.maxQueue) {
      return Promise.reject(
        new CustodyError(
          'CUSTODY_OVERLOADED',
          `the write queue is full (${this.options.maxQueue}); retry after the Retry-After delay`,
          503,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.sequencing || this.inFlight >= MAX_IN_FLIGHT) return;
    if (this.queue.length === 0) {
      if (this.inFlight === 0) for (const wake of this.idle.splice(0)) wake();
      return;
    }
    this.sequencing = true;
    this.inFlight++;
    const group = this.queue.splice(0, this.options.maxGroup);
    const started = process.hrtime.bigint();
    const sequenced = this.ledger.sequence(group.map((w) => w.input));
    sequenced
      .finally(() => {
        this.sequencing = false;
        this.next();
      })
      .catch(() => undefined);
    sequenced
      .then(async ({ outcomes }) => {
        const settled = await outcomes;
        if (settled.some((o) => o.ok && !o.duplicate)) await this.afterGroupInTurn();
        return settled;
      })
      .then(
        (outcomes) => {
          this.options.onGroup?.(outcomes, Number(process.hrtime.bigint() - started) / 1e9);
          for (const [i, w] of group.entries()) w.resolve(outcomes[i] as Outcome);
        },
        (error) => {
          for (const w of group) w.reject(error);
        },
      )
      .finally(() => {
        this.inFlight--;
        this.next();
      });
  }

  private afterGroupInTurn(): Promise<void> {
    const afterGroup = this.options.afterGroup;
    if (afterGroup === undefined) return Promise.resolve();
    const run = this.lastAfterGroup.then(afterGroup);
    this.lastAfterGroup = run.catch(() => undefined);
    return run;
  }

  /** Refuses new submissions and resolves once every queued one is written or refused. */
  close(): Promise<void> {
    this.closed = true;
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}

/**
 * Group commit (DESIGN.md "The write path"): submissions wait in a bounded
 * queue; whenever no group is being written, everything queued (up to a
 * group's maximum) becomes the next group, one durable batch and one
 * checkpoint. Requests that arrive during a write join the next group, so a
 * burst costs one fsync per group, not per event.
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
   * fail; its own errors are its own to handle.
   */
  readonly afterGroup?: () => Promise<void>;
}

export class Batcher {
  private queue: Waiting[] = [];
  private writing = false;
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
    if (this.writing) return;
    if (this.queue.length === 0) {
      for (const wake of this.idle.splice(0)) wake();
      return;
    }
    this.writing = true;
    const group = this.queue.splice(0, this.options.maxGroup);
    const started = process.hrtime.bigint();
    this.ledger
      .submit(group.map((w) => w.input))
      .then(async (outcomes) => {
        if (outcomes.some((o) => o.ok && !o.duplicate)) await this.options.afterGroup?.();
        return outcomes;
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
        this.writing = false;
        this.next();
      });
  }

  /** Refuses new submissions and resolves once every queued one is written or refused. */
  close(): Promise<void> {
    this.closed = true;
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}

import type { OffsetCommit } from './transport/types.js';

/** What one commit carries, and what to record once it succeeded. */
export interface CommitPlan {
  readonly offsets: readonly OffsetCommit[];
  readonly onCommitted: () => void;
}

/**
 * Coalesces commits of one group member: at most one commit is in flight, and every
 * {@link flush} resolves after a commit that started after the call (so it includes the caller's
 * state). Bursts of acknowledgements cost one commit per round trip.
 */
export class Committer {
  private current: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly plan: () => CommitPlan | undefined,
    private readonly send: (offsets: readonly OffsetCommit[]) => Promise<void>,
  ) {}

  /** Commits the current state; coalesces with a commit that has not started yet. */
  flush(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.queued) return this.queued;
    const previous = this.current;
    const next: Promise<void> = (previous ? previous.catch(() => undefined) : Promise.resolve()).then(() => {
      if (this.queued === next) this.queued = undefined;
      return this.commitOnce();
    });
    this.queued = next;
    this.current = next;
    void next
      .catch(() => undefined)
      .finally(() => {
        if (this.current === next) this.current = undefined;
      });
    return next;
  }

  /**
   * Asks for a commit of the current state without waiting for it: nothing happens when one is
   * already queued (it will include this state), so a burst of acknowledgements costs no promise
   * each.
   */
  request(onError: (error: unknown) => void): void {
    if (this.stopped || this.queued) return;
    this.flush().catch(onError);
  }

  /** No commit is sent after this (a crashed member commits nothing). */
  stop(): void {
    this.stopped = true;
  }

  private async commitOnce(): Promise<void> {
    if (this.stopped) return;
    const plan = this.plan();
    if (!plan || plan.offsets.length === 0) return;
    await this.send(plan.offsets);
    plan.onCommitted();
  }
}

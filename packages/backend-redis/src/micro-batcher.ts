/** The outcome of one item of a batch: each caller's promise settles on its own. */
export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: unknown };

interface Pending<TItem, TResult> {
  readonly item: TItem;
  readonly resolve: (value: TResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Collects the items pushed during one event-loop turn and runs them as one batch (one pipeline,
 * one round trip). A worker finishing many tasks at once thus pays one round trip, not one each.
 * A batch is cut early at `maxSize` so a burst never builds one huge pipeline.
 */
export class MicroBatcher<TItem, TResult> {
  private pending: Pending<TItem, TResult>[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly run: (items: readonly TItem[]) => Promise<readonly Outcome<TResult>[]>,
    private readonly maxSize: number,
  ) {}

  /** Queues an item; resolves or rejects with that item's own outcome. */
  push(item: TItem): Promise<TResult> {
    return new Promise<TResult>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.maxSize) this.flush();
      // setImmediate, not a microtask: stores issued from different promise continuations of
      // the same turn still share a batch.
      else this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  /** Sends everything queued now and waits for every batch still in flight. */
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const done = this.execute(batch).finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
  }

  private async execute(batch: readonly Pending<TItem, TResult>[]): Promise<void> {
    let outcomes: readonly Outcome<TResult>[];
    try {
      outcomes = await this.run(batch.map((p) => p.item));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => {
      const outcome = outcomes[i];
      if (!outcome) p.reject(new Error('batch returned fewer outcomes than items'));
      else if (outcome.ok) p.resolve(outcome.value);
      else p.reject(outcome.error);
    });
  }
}

/** The outcome of one item of a batch: each caller's promise settles on its own. */
export type BatchOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: unknown };

interface Pending<TItem, TResult> {
  readonly item: TItem;
  readonly resolve: (value: TResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Gathers the items pushed during one event-loop turn and runs them as one batch (one pipeline, one
 * round trip): a worker finishing many tasks at once stores and reads their results in one round
 * trip, not one each. A batch is cut at `maxSize`, so a burst never builds one huge call.
 *
 * `run` answers with one outcome per item, in order; if it throws, every item of the batch fails
 * with that error.
 *
 * @example
 * ```ts
 * const reads = new TickBatcher<string, ResultMeta | null>(async (ids) =>
 *   (await backend.getMany(ids)).map((value) => ({ ok: true, value })),
 * );
 * const meta = await reads.push(taskId);
 * ```
 */
export class TickBatcher<TItem, TResult> {
  private pending: Pending<TItem, TResult>[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly run: (items: readonly TItem[]) => Promise<readonly BatchOutcome<TResult>[]>,
    private readonly maxSize = 500,
  ) {}

  /** Queues an item; resolves or rejects with that item's own outcome. */
  push(item: TItem): Promise<TResult> {
    return new Promise<TResult>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.maxSize) this.flush();
      // setImmediate, not a microtask: items pushed from different promise continuations of the
      // same turn still share a batch.
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
    let outcomes: readonly BatchOutcome<TResult>[];
    try {
      outcomes = await this.run(batch.map((p) => p.item));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    for (const [i, p] of batch.entries()) {
      const outcome = outcomes[i];
      if (!outcome) p.reject(new Error('the batch returned fewer outcomes than items'));
      else if (outcome.ok) p.resolve(outcome.value);
      else p.reject(outcome.error);
    }
  }
}

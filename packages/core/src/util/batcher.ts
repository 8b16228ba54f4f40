/**
 * Coalesces calls made in the same tick into one batch call, so a worker under load stores and
 * reads results in one round trip instead of one per task. Each caller still gets its own promise.
 */
export function createBatcher<TIn, TOut>(
  run: (items: TIn[]) => Promise<TOut[]>,
  maxBatch = 500,
): (item: TIn) => Promise<TOut> {
  const pending: { item: TIn; resolve: (v: TOut) => void; reject: (e: unknown) => void }[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const batch = pending.splice(0, maxBatch);
    if (pending.length) schedule();
    run(batch.map((p) => p.item)).then(
      (results) => {
        for (const [i, p] of batch.entries()) p.resolve(results[i] as TOut);
      },
      (error: unknown) => {
        for (const p of batch) p.reject(error);
      },
    );
  };
  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return (item) =>
    new Promise<TOut>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      schedule();
    });
}

import { describe, expect, it } from 'vitest';
import { type BatchOutcome, TickBatcher } from '../src/adapter/index.js';

describe('TickBatcher', () => {
  it('runs the items pushed in one turn as one batch, each caller getting its own outcome', async () => {
    const batches: number[][] = [];
    const batcher = new TickBatcher<number, number>(async (items) => {
      batches.push([...items]);
      return items.map(
        (n): BatchOutcome<number> =>
          n < 0 ? { ok: false, error: new RangeError(`${n}`) } : { ok: true, value: n * 2 },
      );
    });
    const results = await Promise.allSettled([1, -1, 3].map((n) => batcher.push(n)));
    expect(batches).toEqual([[1, -1, 3]]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      2,
      '-1',
      6,
    ]);
  });

  it('cuts a batch at its size limit', async () => {
    const batches: number[][] = [];
    const batcher = new TickBatcher<number, number>(async (items) => {
      batches.push([...items]);
      return items.map((value) => ({ ok: true, value }));
    }, 2);
    await Promise.all([1, 2, 3, 4, 5].map((n) => batcher.push(n)));
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('fails every item of a batch whose run throws, and of one that answers short', async () => {
    const failing = new TickBatcher<number, number>(async () => {
      throw new Error('down');
    });
    await expect(Promise.all([failing.push(1), failing.push(2)])).rejects.toThrow('down');
    const short = new TickBatcher<number, number>(async () => [{ ok: true, value: 1 }]);
    const [a, b] = await Promise.allSettled([short.push(1), short.push(2)]);
    expect(a).toEqual({ status: 'fulfilled', value: 1 });
    expect(b?.status).toBe('rejected');
  });

  it('drains what is queued and in flight', async () => {
    const done: number[] = [];
    const batcher = new TickBatcher<number, void>(async (items) => {
      await new Promise((r) => setImmediate(r));
      done.push(...items);
      return items.map(() => ({ ok: true, value: undefined }));
    });
    void batcher.push(1);
    void batcher.push(2);
    await batcher.drain();
    expect(done).toEqual([1, 2]);
  });
});

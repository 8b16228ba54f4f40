import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { createControlClient } from '../src/control/client.js';
import { MemoryControlBus, MemoryControlTransport } from '../src/control/memory-transport.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import { createClient, redriveDeadLetters } from '../src/producer/index.js';
import { createWorker, implement, type TaskImplementation, type Worker } from '../src/worker/index.js';

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 200 })));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Records `item` in `list` and returns `value`: what a handler under test logs and returns. */
function kept<T>(list: unknown[] | undefined, item: unknown, value: T): T {
  list?.push(item);
  return value;
}

/** Most starts in any window of `windowMs` (start times sorted). */
function mostInWindow(starts: readonly number[], windowMs: number): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let most = 0;
  let from = 0;
  for (let to = 0; to < sorted.length; to++) {
    while ((sorted[to] as number) - (sorted[from] as number) >= windowMs) from++;
    most = Math.max(most, to - from + 1);
  }
  return most;
}

function fleet(tasks: TaskImplementation[], options: { workers?: number; queues?: string[] } = {}) {
  const broker = new MemoryBroker();
  const backend = new MemoryResultBackend({ taskIndex: { max: 1000 } });
  const list = Array.from({ length: options.workers ?? 2 }, (_, i) =>
    createWorker({
      broker,
      backend,
      tasks,
      concurrency: 10,
      hostname: `flow${i}@unit`,
      ...(options.queues ? { queues: options.queues } : {}),
    }),
  );
  workers.push(...list);
  return { broker, backend, workers: list, client: createClient({ broker, backend }) };
}

const item = z.object({ n: z.number(), key: z.string().default('a') });

describe('global rate limits', () => {
  it('never starts more than the limit in any window, across two workers', async () => {
    const starts: number[] = [];
    const limited = defineTask({
      name: 'flow.rated',
      input: item,
      output: z.number(),
      defaults: { queue: 'rated', rateLimit: '10/s' },
    });
    const { client, workers: ws } = fleet([implement(limited, ({ n }) => kept(starts, Date.now(), n))]);
    await Promise.all(ws.map((w) => w.start()));
    const handles = await client.enqueueMany(
      limited,
      Array.from({ length: 25 }, (_, n) => ({ n })),
    );
    await Promise.all(handles.map((h) => h.result({ timeoutMs: 20_000 })));
    expect(starts).toHaveLength(25);
    expect(mostInWindow(starts, 1000)).toBeLessThanOrEqual(10);
  });

  it('keeps one bucket per key: two keys run side by side, each under its own limit', async () => {
    const starts: Record<string, number[]> = { a: [], b: [] };
    const perKey = defineTask({
      name: 'flow.per-key',
      input: item,
      output: z.number(),
      defaults: { queue: 'per-key', rateLimit: { limit: '4/s', key: (input) => input.key } },
    });
    const { client, workers: ws } = fleet([
      implement(perKey, ({ n, key }) => kept(starts[key], Date.now(), n)),
    ]);
    await Promise.all(ws.map((w) => w.start()));
    const inputs = Array.from({ length: 16 }, (_, n) => ({ n, key: n % 2 ? 'a' : 'b' }));
    const handles = await client.enqueueMany(perKey, inputs);
    await Promise.all(handles.map((h) => h.result({ timeoutMs: 20_000 })));
    expect(mostInWindow(starts.a ?? [], 1000)).toBeLessThanOrEqual(4);
    expect(mostInWindow(starts.b ?? [], 1000)).toBeLessThanOrEqual(4);
    // Independent buckets: in some window both keys are at their limit together.
    expect(mostInWindow([...(starts.a ?? []), ...(starts.b ?? [])], 1000)).toBeGreaterThan(4);
  });

  it('follows a rate set at runtime through the control plane (rate_limit)', async () => {
    const starts: number[] = [];
    const free = defineTask({
      name: 'flow.free',
      input: item,
      output: z.number(),
      defaults: { queue: 'free' },
    });
    const bus = new MemoryControlBus();
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const worker = createWorker({
      broker,
      backend,
      tasks: [implement(free, ({ n }) => kept(starts, Date.now(), n))],
      hostname: 'rl@unit',
      control: new MemoryControlTransport(bus),
    });
    workers.push(worker);
    await worker.start();
    const control = createControlClient(new MemoryControlTransport(bus), { timeoutMs: 500 });
    expect(await control.rateLimit('flow.free', '5/s')).toEqual({
      'rl@unit': { ok: 'new rate limit set successfully' },
    });
    expect((await control.inspect().registered('rate_limit'))['rl@unit']).toContain(
      'flow.free [rate_limit=5/s]',
    );
    const client = createClient({ broker, backend });
    const handles = await client.enqueueMany(
      free,
      Array.from({ length: 12 }, (_, n) => ({ n })),
    );
    await Promise.all(handles.map((h) => h.result({ timeoutMs: 20_000 })));
    expect(mostInWindow(starts, 1000)).toBeLessThanOrEqual(5);
    await control.close();
  });
});

describe('concurrency per key', () => {
  it('never runs more than max at once per key across the fleet', async () => {
    const running = new Map<string, number>();
    let worst = 0;
    const capped = defineTask({
      name: 'flow.capped',
      input: item,
      output: z.number(),
      defaults: { queue: 'capped' },
      concurrency: { max: 2, key: (input) => input.key },
    });
    const { client, workers: ws } = fleet([
      implement(capped, async ({ n, key }) => {
        running.set(key, (running.get(key) ?? 0) + 1);
        worst = Math.max(worst, running.get(key) ?? 0);
        await sleep(40);
        running.set(key, (running.get(key) ?? 0) - 1);
        return n;
      }),
    ]);
    await Promise.all(ws.map((w) => w.start()));
    const handles = await client.enqueueMany(
      capped,
      Array.from({ length: 16 }, (_, n) => ({ n, key: n % 2 ? 'a' : 'b' })),
    );
    await Promise.all(handles.map((h) => h.result({ timeoutMs: 20_000 })));
    expect(worst).toBe(2);
  });

  it('takes a slot back once the lease of a holder that stopped renewing expires', async () => {
    const backend = new MemoryResultBackend();
    expect(await backend.flow.acquireLease('k', 'dead', 1, 150)).toBe(0);
    expect(await backend.flow.acquireLease('k', 'alive', 1, 150)).toBeGreaterThan(0);
    await sleep(200);
    expect(await backend.flow.acquireLease('k', 'alive', 1, 150)).toBe(0);
  });
});

describe('deduplication', () => {
  const counted = () => {
    const runs: number[] = [];
    const task = defineTask({
      name: 'flow.dedupe',
      input: item,
      output: z.number(),
      defaults: { queue: 'dd' },
    });
    return { runs, task, impl: implement(task, ({ n }) => kept(runs, n, n)) };
  };

  it('skip: 20 concurrent enqueues with one key run once and share its handle', async () => {
    const { runs, task, impl } = counted();
    const { client, workers: ws } = fleet([impl]);
    await Promise.all(ws.map((w) => w.start()));
    const handles = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        client.enqueue(task, { n }, { dedupe: { key: 'k', ttlMs: 60_000 } }),
      ),
    );
    expect(new Set(handles.map((h) => h.id)).size).toBe(1);
    await handles[0]?.result({ timeoutMs: 5_000 });
    // Finished within the TTL: still the same handle, nothing runs again.
    const again = await client.enqueue(task, { n: 99 }, { dedupe: { key: 'k', ttlMs: 60_000 } });
    expect(again.id).toBe(handles[0]?.id);
    await sleep(100);
    expect(runs).toHaveLength(1);
  });

  it('skip: a key is free again once its task finished longer than the TTL ago', async () => {
    const { runs, task, impl } = counted();
    const { client, workers: ws } = fleet([impl], { workers: 1 });
    await ws[0]?.start();
    const first = await client.enqueue(task, { n: 1 }, { dedupe: { key: 'k', ttlMs: 50 } });
    await first.result({ timeoutMs: 5_000 });
    await sleep(150);
    const second = await client.enqueue(task, { n: 2 }, { dedupe: { key: 'k', ttlMs: 50 } });
    expect(second.id).not.toBe(first.id);
    await second.result({ timeoutMs: 5_000 });
    expect(runs).toEqual([1, 2]);
  });

  it('throttle: at most one per TTL', async () => {
    const { runs, task, impl } = counted();
    const { client, workers: ws } = fleet([impl]);
    await Promise.all(ws.map((w) => w.start()));
    const handles = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        client.enqueue(task, { n }, { dedupe: { key: 't', ttlMs: 60_000, mode: 'throttle' } }),
      ),
    );
    await handles[0]?.result({ timeoutMs: 5_000 });
    await sleep(100);
    expect(new Set(handles.map((h) => h.id)).size).toBe(1);
    expect(runs).toHaveLength(1);
  });

  it('replace: queued tasks not yet started are replaced by the last one', async () => {
    const { runs, task, impl } = counted();
    const { client, workers: ws } = fleet([impl]);
    const handles = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        client.enqueue(task, { n }, { dedupe: { key: 'r', mode: 'replace' } }),
      ),
    );
    const last = handles.at(-1);
    await Promise.all(ws.map((w) => w.start()));
    await last?.result({ timeoutMs: 5_000 });
    expect(await last?.result({ timeoutMs: 5_000 })).toBe(19);
    // The replaced ones end REVOKED (replaced), never run.
    const first = await handles[0]?.status();
    expect(first?.state).toBe('REVOKED');
    expect(first?.meta?.result).toMatchObject({ exc_type: 'TaskRevokedError', exc_message: ['replaced'] });
    expect(runs).toEqual([19]);
  });

  it('debounce: 20 quick calls run once, after the delay, with the last input', async () => {
    const { runs, task, impl } = counted();
    const { client, workers: ws } = fleet([impl]);
    await Promise.all(ws.map((w) => w.start()));
    const handles: Awaited<ReturnType<typeof client.enqueue<typeof task>>>[] = [];
    for (let n = 0; n < 20; n++)
      handles.push(await client.enqueue(task, { n }, { dedupe: { key: 'd', ttlMs: 150, mode: 'debounce' } }));
    expect(await handles.at(-1)?.result({ timeoutMs: 5_000 })).toBe(19);
    await sleep(100);
    expect(runs).toEqual([19]);
  });
});

describe('deduplication after the holder finished', () => {
  it('a replaced copy due after its replacement finished is still skipped', async () => {
    const runs: number[] = [];
    const task = defineTask({
      name: 'flow.dd-late',
      input: item,
      output: z.number(),
      defaults: { queue: 'dd-late' },
    });
    const { client, workers: ws } = fleet([implement(task, ({ n }) => kept(runs, n, n))], { workers: 1 });
    await ws[0]?.start();
    const replaced = await client.enqueue(
      task,
      { n: 1 },
      { dedupe: { key: 'k', ttlMs: 300, mode: 'debounce' } },
    );
    const last = await client.enqueue(task, { n: 2 }, { dedupe: { key: 'k', ttlMs: 50, mode: 'debounce' } });
    expect(await last.result({ timeoutMs: 5_000 })).toBe(2);
    await waitForState(replaced, 'REVOKED');
    expect(runs).toEqual([2]);
  });
});

async function waitForState(handle: { status(): Promise<{ state: string }> }, state: string): Promise<void> {
  for (let i = 0; i < 100 && (await handle.status()).state !== state; i++) await sleep(20);
  expect((await handle.status()).state).toBe(state);
}

describe('pause and resume', () => {
  it('a queue paused fleet-wide is not fetched until resumed; other queues go on', async () => {
    const runs: string[] = [];
    const a = defineTask({ name: 'flow.qa', input: item, output: z.number(), defaults: { queue: 'qa' } });
    const b = defineTask({ name: 'flow.qb', input: item, output: z.number(), defaults: { queue: 'qb' } });
    const { client, workers: ws } = fleet(
      [implement(a, ({ n }) => kept(runs, 'a', n)), implement(b, ({ n }) => kept(runs, 'b', n))],
      { queues: ['qa', 'qb'] },
    );
    await Promise.all(ws.map((w) => w.start()));
    await client.pauseQueue('qa');
    expect(await client.pausedQueues()).toEqual(['qa']);
    const ha = await client.enqueue(a, { n: 1 });
    const hb = await client.enqueue(b, { n: 2 });
    await hb.result({ timeoutMs: 5_000 });
    await sleep(200);
    expect(runs).toEqual(['b']);
    expect((await ha.status()).state).toBe('PENDING');
    await client.resumeQueue('qa');
    await ha.result({ timeoutMs: 5_000 });
    expect(runs).toEqual(['b', 'a']);
  });

  it('worker.pause() stops this worker fetching; running tasks finish; resume() fetches again', async () => {
    const runs: number[] = [];
    const slow = defineTask({
      name: 'flow.slow',
      input: item,
      output: z.number(),
      defaults: { queue: 'wp' },
    });
    const { client, workers: ws } = fleet(
      [
        implement(slow, async ({ n }) => {
          await sleep(100);
          return kept(runs, n, n);
        }),
      ],
      { workers: 1 },
    );
    const worker = ws[0] as Worker;
    await worker.start();
    const running = await client.enqueue(slow, { n: 1 });
    await sleep(30);
    await worker.pause();
    const waiting = await client.enqueue(slow, { n: 2 });
    expect(await running.result({ timeoutMs: 5_000 })).toBe(1);
    await sleep(200);
    expect(runs).toEqual([1]);
    worker.resume();
    expect(await waiting.result({ timeoutMs: 5_000 })).toBe(2);
  });
});

describe('finding tasks and dead-lettering failures', () => {
  it('lists recent tasks by state, name and queue', async () => {
    const flaky = defineTask({
      name: 'flow.flaky',
      input: item,
      output: z.number(),
      defaults: { queue: 'fl' },
    });
    const { client, workers: ws } = fleet(
      [
        implement(flaky, ({ n }) => {
          if (n % 3 === 0) throw new Error(`no ${n}`);
          return n;
        }),
      ],
      { workers: 1 },
    );
    await ws[0]?.start();
    const handles = await client.enqueueMany(
      flaky,
      Array.from({ length: 9 }, (_, n) => ({ n })),
    );
    await Promise.allSettled(handles.map((h) => h.result({ timeoutMs: 5_000 })));
    await sleep(50);
    const failed = await client.tasks.list({ state: 'FAILURE' });
    expect(failed.map((t) => t.id).sort()).toEqual([0, 3, 6].map((i) => handles[i]?.id).sort());
    expect(failed[0]).toMatchObject({
      name: 'flow.flaky',
      queue: 'fl',
      state: 'FAILURE',
      worker: 'flow0@unit',
    });
    expect(await client.tasks.list({ state: 'SUCCESS', limit: 2 })).toHaveLength(2);
    expect(await client.tasks.list({ queue: 'elsewhere' })).toEqual([]);
  });

  it('without an index, listing fails with UnsupportedError', async () => {
    const client = createClient({ broker: new MemoryBroker(), backend: new MemoryResultBackend() });
    await expect(client.tasks.list()).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });

  it('deadLetterOnFailure: a task that fails for good is dead-lettered, and redrive runs it again', async () => {
    let attempts = 0;
    const once = defineTask({
      name: 'flow.once',
      input: item,
      output: z.number(),
      defaults: { queue: 'dl', deadLetterOnFailure: true },
    });
    const {
      client,
      broker,
      backend,
      workers: ws,
    } = fleet(
      [
        implement(once, ({ n }) => {
          attempts++;
          if (attempts === 1) throw new Error('first time');
          return n;
        }),
      ],
      { workers: 1 },
    );
    await ws[0]?.start();
    const handle = await client.enqueue(once, { n: 7 });
    await expect(handle.result({ timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'REMOTE_TASK_FAILED' });
    await sleep(50);
    const letters = await broker.readDeadLetters('dl');
    expect(letters.map((l) => l.reason.code)).toEqual(['TASK_FAILED']);
    expect((await redriveDeadLetters(broker, backend, 'dl')).moved).toBe(1);
    expect(await handle.result({ timeoutMs: 5_000 })).toBe(7);
  });
});

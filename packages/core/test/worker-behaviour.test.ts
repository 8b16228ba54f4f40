import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import { createClient } from '../src/producer/index.js';
import { createWorker, implement, type Worker } from '../src/worker/index.js';

const nap = defineTask({
  name: 'unit.nap',
  input: z.object({ ms: z.number() }),
  output: z.number(),
  defaults: { queue: 'unit' },
});
const napImpl = implement(nap, ({ ms }) => new Promise<number>((r) => setTimeout(() => r(ms), ms)));
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 100 })));
});

describe('worker behaviour', () => {
  it('grows concurrency with queue depth and shrinks back when the queue drains', async () => {
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const worker = createWorker({
      broker,
      backend,
      tasks: [napImpl],
      autoscale: { min: 1, max: 8, intervalMs: 50 },
    });
    workers.push(worker);
    await worker.start();
    expect(worker.stats().concurrency).toBe(1);
    const client = createClient({ broker, backend });
    const handles = await client.enqueueMany(
      nap,
      Array.from({ length: 60 }, () => ({ ms: 30 })),
    );
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, worker.stats().concurrency)), 10);
    await Promise.all(handles.map((h) => h.result({ timeoutMs: 10_000 })));
    clearInterval(sampler);
    expect(peak).toBe(8);
    await new Promise((r) => setTimeout(r, 200));
    expect(worker.stats().concurrency).toBe(1);
  });

  it('emits Celery-named events in order for one task', async () => {
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const worker = createWorker({ broker, backend, tasks: [napImpl] });
    workers.push(worker);
    const seen: string[] = [];
    for (const e of ['task-received', 'task-started', 'task-succeeded'] as const)
      worker.on(e, () => seen.push(e));
    await worker.start();
    const handle = await createClient({ broker, backend }).enqueue(nap, { ms: 1 });
    await handle.result({ timeoutMs: 5_000 });
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(['task-received', 'task-started', 'task-succeeded']);
    expect(worker.stats()).toMatchObject({ processed: 1, succeeded: 1, failed: 0 });
  });

  it('stores STARTED while a task runs when tracking is on', async () => {
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const worker = createWorker({
      broker,
      backend,
      tasks: [napImpl],
      hostname: 'w1@test',
      trackStarted: true,
    });
    workers.push(worker);
    await worker.start();
    const handle = await createClient({ broker, backend }).enqueue(nap, { ms: 300 });
    await new Promise((r) => setTimeout(r, 100));
    const status = await handle.status();
    expect(status.state).toBe('STARTED');
    expect(status.meta?.result).toMatchObject({ hostname: 'w1@test', pid: process.pid });
  });

  it('does not store STARTED by default (as Celery), so a running task reads PENDING', async () => {
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const worker = createWorker({ broker, backend, tasks: [napImpl] });
    workers.push(worker);
    await worker.start();
    const handle = await createClient({ broker, backend }).enqueue(nap, { ms: 300 });
    await new Promise((r) => setTimeout(r, 100));
    expect((await handle.status()).state).toBe('PENDING');
    expect(await handle.result({ timeoutMs: 5_000 })).toBe(300);
  });

  it('gives the handler its context: ids, attempt, delivery, headers, progress and a lazy signal', async () => {
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const probe = defineTask({
      name: 'unit.ctx',
      input: z.object({}),
      output: z.record(z.string(), z.unknown()),
      defaults: { queue: 'unit' },
    });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const worker = createWorker({
      broker,
      backend,
      tasks: [
        implement(probe, async (_input, ctx) => {
          await ctx.progress({ step: 1 });
          await gate;
          const { signal } = ctx;
          return {
            id: ctx.id,
            name: ctx.name,
            attempt: ctx.attempt,
            deliveryCount: ctx.deliveryCount,
            queue: ctx.queue,
            rootId: ctx.rootId,
            parentId: ctx.parentId,
            headerTask: ctx.headers.task,
            aborted: signal.aborted,
            sameSignal: signal === ctx.signal,
          };
        }),
      ],
    });
    workers.push(worker);
    await worker.start();
    const handle = await createClient({ broker, backend }).enqueue(probe, {});
    let status = await handle.status();
    for (let i = 0; i < 100 && status.state !== 'PROGRESS'; i++) {
      await new Promise((r) => setTimeout(r, 10));
      status = await handle.status();
    }
    expect(status.state).toBe('PROGRESS');
    expect(status.meta?.result).toEqual({ step: 1 });
    release();
    expect(await handle.result({ timeoutMs: 5_000 })).toEqual({
      id: handle.id,
      name: 'unit.ctx',
      attempt: 1,
      deliveryCount: 1,
      queue: 'unit',
      rootId: handle.id,
      parentId: null,
      headerTask: 'unit.ctx',
      aborted: false,
      sameSignal: true,
    });
  });

  it('puts a task back when its outcome cannot be stored, frees the slot, and runs it again', async () => {
    const broker = new MemoryBroker();
    let failures = 1;
    const backend = new (class extends MemoryResultBackend {
      override async store(...args: Parameters<MemoryResultBackend['store']>): Promise<void> {
        if (args[0].status === 'SUCCESS' && failures-- > 0) throw new Error('backend down');
        return super.store(...args);
      }
    })();
    let runs = 0;
    const counted = implement(nap, async ({ ms }) => {
      runs++;
      return ms;
    });
    const worker = createWorker({ broker, backend, tasks: [counted], concurrency: 1 });
    workers.push(worker);
    const errors: unknown[] = [];
    worker.on('worker-error', ({ error }) => errors.push(error));
    await worker.start();
    const handle = await createClient({ broker, backend }).enqueue(nap, { ms: 7 });
    expect(await handle.result({ timeoutMs: 10_000 })).toBe(7);
    expect(runs).toBe(2);
    expect((errors[0] as Error).message).toBe('backend down');
    await new Promise((r) => setImmediate(r));
    expect(worker.stats()).toMatchObject({ active: 0, processed: 2, succeeded: 1 });
  });

  it('refuses two implementations of one task name', () => {
    expect(() => createWorker({ broker: new MemoryBroker(), tasks: [napImpl, napImpl] })).toThrow(
      /implemented twice/,
    );
  });
});

describe('hooks and waitMany', () => {
  it('calls onSuccess and onFailure, and waitMany reports each outcome in order', async () => {
    const { waitMany } = await import('../src/producer/index.js');
    const { NonRetriableError } = await import('../src/errors.js');
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const check = defineTask({
      name: 'unit.check',
      input: z.object({ ok: z.boolean() }),
      output: z.boolean(),
      defaults: { queue: 'unit' },
    });
    const succeeded: string[] = [];
    const failed: string[] = [];
    const worker = createWorker({
      broker,
      backend,
      tasks: [
        implement(check, ({ ok }) => {
          if (!ok) throw new NonRetriableError('not ok');
          return ok;
        }),
      ],
      onSuccess: (e) => succeeded.push(e.uuid),
      onFailure: (e) => failed.push(e.uuid),
    });
    workers.push(worker);
    await worker.start();
    const client = createClient({ broker, backend });
    const handles = await client.enqueueMany(check, [{ ok: true }, { ok: false }, { ok: true }]);
    const settled = await waitMany(handles, { timeoutMs: 5_000 });
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(settled.map((s) => s.id)).toEqual(handles.map((h) => h.id));
    expect(succeeded.sort()).toEqual([handles[0]?.id, handles[2]?.id].sort());
    expect(failed).toEqual([handles[1]?.id]);
  });
});

import { createBroker, createControlTransport } from '@celeriac/broker-redis';
import { MemoryResultBackend, RemoteTaskError, TaskState } from '@celeriac/core';
import type { ControlTransport } from '@celeriac/core/adapter';
import { type Client, createClient, createControlClient } from '@celeriac/core/producer';
import { createWorker, type Worker } from '@celeriac/core/worker';
import { requireCelery, requireService } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { celeryCli } from './control-helpers.js';
// @ts-expect-error: a plain JavaScript module, typed loosely on purpose (a thread imports it too).
import * as fixture from './fixtures/thread-tasks.mjs';

const redisUrl = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const up = await requireService('redis', redisUrl);
const python = requireCelery();
// biome-ignore lint/suspicious/noExplicitAny: the fixture is untyped JavaScript.
const f = fixture as any;

describe.runIf(up)("isolation: 'thread' on a Redis worker", () => {
  const namespace = uniqueName('thr');
  const queue = uniqueName('thr-q');
  const node = `ts-${queue}@test`;
  const backend = new MemoryResultBackend();
  let worker: Worker;
  let client: Client;
  let transport: ControlTransport;
  let control: ReturnType<typeof createControlClient>;
  const broker = createBroker(redisUrl);

  beforeAll(async () => {
    transport = await createControlTransport(redisUrl, { namespace });
    // One slot: a task that kept its slot past its end would hold every later one back.
    worker = createWorker({
      broker,
      backend,
      tasks: f.tasks,
      queues: [queue],
      concurrency: 1,
      hostname: node,
      control: transport,
    });
    await worker.start();
    client = createClient({ broker, backend });
    control = createControlClient(await createControlTransport(redisUrl, { namespace }), { timeoutMs: 3000 });
  });

  afterAll(async () => {
    await worker?.stop({ graceMs: 1000 });
    await Promise.allSettled([control?.close(), transport?.close(), broker.close()]);
  });

  const activeIds = async () =>
    ((await control.inspect({ destination: [node] }).active())[node] ?? []).map((t) => t.id);

  it('runs the handler in a worker thread with its context', async () => {
    const handle = await client.enqueue(f.where, { n: 1 }, { queue });
    const out = (await handle.result({ timeoutMs: 20_000 })) as Record<string, unknown>;
    expect(out).toMatchObject({ isMainThread: false, id: handle.id, attempt: 1, input: { n: 1 } });
    expect(out.threadId).toBeGreaterThan(0);
    expect(worker.stats().threads).toBeGreaterThan(0);
  });

  it('terminates a busy handler at its hard limit, records TimeLimitExceeded, and answers ping meanwhile', async () => {
    const handle = await client.enqueue(f.spin, { ms: 600_000 }, { queue, timeoutMs: 6000 });
    await waitFor(async () => (await activeIds()).includes(handle.id), {
      timeoutMs: 20_000,
      what: 'spin active',
    });
    // The handler spins, and the worker's event loop still answers.
    expect(await control.ping({ destination: [node] })).toEqual({ [node]: { ok: 'pong' } });
    const failure = await handle.result({ timeoutMs: 30_000 }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RemoteTaskError);
    expect((failure as RemoteTaskError).remote.excType).toBe('TimeLimitExceeded');
    // The thread was terminated: the only slot is free again for the next task.
    const next = await client.enqueue(f.where, { n: 2 }, { queue });
    expect(await next.result({ timeoutMs: 20_000 })).toMatchObject({ isMainThread: false, input: { n: 2 } });
  });

  it('aborts ctx.signal in the thread at the soft limit', async () => {
    const handle = await client.enqueue(f.soft, {}, { queue, softTimeoutMs: 200 });
    expect(await handle.result({ timeoutMs: 20_000 })).toBe('aborted: TimeLimitExceeded');
  });

  it('terminates a busy handler on revoke with terminate', async () => {
    const handle = await client.enqueue(f.spin, { ms: 600_000 }, { queue });
    await waitFor(async () => (await activeIds()).includes(handle.id), {
      timeoutMs: 20_000,
      what: 'spin active',
    });
    const replies = await control.revoke(handle.id, { terminate: true, destination: [node] });
    expect(replies[node]).toEqual({ ok: `terminate: ${handle.id}` });
    expect((await backend.get(handle.id))?.status).toBe(TaskState.REVOKED);
    const next = await client.enqueue(f.where, { n: 3 }, { queue });
    expect(await next.result({ timeoutMs: 20_000 })).toMatchObject({ input: { n: 3 } });
    await waitFor(async () => !(await activeIds()).includes(handle.id), {
      what: 'terminated task gone from active',
    });
  });

  it('keeps a retry asked for in the thread (RetryAfterError crosses as its code and delay)', async () => {
    const handle = await client.enqueue(f.retryLater, {}, { queue });
    expect(await handle.result({ timeoutMs: 20_000 })).toBe('attempt 2');
  });

  it('relays ctx.progress from the thread', async () => {
    const seen: unknown[] = [];
    const store = backend.store.bind(backend);
    backend.store = async (meta) => {
      if (meta.status === 'PROGRESS') seen.push(meta.result);
      return store(meta);
    };
    try {
      const handle = await client.enqueue(f.progress, {}, { queue });
      expect(await handle.result({ timeoutMs: 20_000 })).toBe('done');
      expect(seen).toEqual([{ step: 1 }]);
    } finally {
      backend.store = store;
    }
  });

  it('pool_restart recycles the threads, which import the task module anew', async () => {
    const before = await (await client.enqueue(f.loaded, {}, { queue })).result({ timeoutMs: 20_000 });
    expect(await control.poolRestart({ destination: [node] })).toEqual({ [node]: { ok: 'reload started' } });
    const after = await (await client.enqueue(f.loaded, {}, { queue })).result({ timeoutMs: 20_000 });
    expect(typeof after).toBe('string');
    expect(after).not.toBe(before);
  });

  it('stops past its grace by terminating a busy thread: the task goes back to the queue, the pool closes', async () => {
    const own = uniqueName('thr-stop');
    const stopping = createWorker({ broker, backend, tasks: f.tasks, queues: [own], concurrency: 1 });
    await stopping.start();
    const handle = await client.enqueue(f.spin, { ms: 600_000 }, { queue: own });
    await waitFor(() => stopping.stats().active === 1 && stopping.stats().threads > 0, {
      what: 'spin running',
    });
    await stopping.stop({ graceMs: 200 });
    expect(stopping.stats().threads).toBe(0);
    expect(await broker.depth(own)).toBe(1);
    expect((await backend.get(handle.id))?.status ?? TaskState.PENDING).toBe(TaskState.PENDING);
    await broker.purge(own);
  });

  it.runIf(python)("answers Celery's own `celery control pool_restart`", async () => {
    const before = await (await client.enqueue(f.loaded, {}, { queue })).result({ timeoutMs: 20_000 });
    const out = await celeryCli({ python: python as string, broker: redisUrl, namespace }, [
      'control',
      'pool_restart',
      '-d',
      node,
      '-t',
      '5',
      '--json',
    ]);
    expect(JSON.parse(out.trim().split('\n')[0] as string)).toEqual([{ [node]: { ok: 'reload started' } }]);
    const after = await (await client.enqueue(f.loaded, {}, { queue })).result({ timeoutMs: 20_000 });
    expect(after).not.toBe(before);
  });
});

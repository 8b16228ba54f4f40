import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import {
  createClient,
  createControlClient,
  MemoryControlBus,
  MemoryControlTransport,
  signature,
} from '../src/producer/index.js';
import type { ResultBackend } from '../src/result-backend.js';
import { createWorker, implement, type Worker } from '../src/worker/index.js';

const hold = defineTask({
  name: 'ctl.hold',
  input: z.object({ ms: z.number(), ignoreAbort: z.boolean().default(false) }),
  output: z.string(),
  defaults: { queue: 'ctl' },
});
const add = defineTask({
  name: 'ctl.add',
  input: z.object({ x: z.number(), y: z.number() }),
  output: z.number(),
  defaults: { queue: 'ctl' },
});

/** Records what ran, how many ran at once, and when each abandoned attempt really ended. */
function fixture() {
  const probe = { calls: new Map<string, number>(), running: 0, maxRunning: 0, aborted: [] as unknown[] };
  const tasks = [
    implement(hold, async ({ ms, ignoreAbort }, ctx) => {
      probe.calls.set(ctx.id, (probe.calls.get(ctx.id) ?? 0) + 1);
      probe.running++;
      probe.maxRunning = Math.max(probe.maxRunning, probe.running);
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, ms);
          ctx.signal.addEventListener('abort', () => {
            probe.aborted.push(ctx.signal.reason);
            if (ignoreAbort) return;
            clearTimeout(timer);
            reject(ctx.signal.reason);
          });
        });
        return 'finished';
      } finally {
        probe.running--;
      }
    }),
    implement(add, ({ x, y }, ctx) => {
      probe.calls.set(ctx.id, (probe.calls.get(ctx.id) ?? 0) + 1);
      return x + y;
    }),
  ];
  return { probe, tasks };
}

/** A backend that counts reads of task states. */
function countingBackend(): { backend: ResultBackend & MemoryResultBackend; reads: () => number } {
  const backend = new MemoryResultBackend();
  let reads = 0;
  const getMany = backend.getMany.bind(backend);
  backend.getMany = (ids) => {
    reads += ids.length;
    return getMany(ids);
  };
  return { backend, reads: () => reads };
}

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 200 })));
});

async function setup(options: { concurrency?: number; autoscale?: { min: number; max: number } } = {}) {
  const bus = new MemoryControlBus();
  const broker = new MemoryBroker();
  const { backend, reads } = countingBackend();
  const { probe, tasks } = fixture();
  const worker = createWorker({
    broker,
    backend,
    tasks,
    hostname: 'ctl@unit',
    control: new MemoryControlTransport(bus),
    concurrency: options.concurrency ?? 2,
    ...(options.autoscale ? { autoscale: { ...options.autoscale, intervalMs: 60_000 } } : {}),
  });
  workers.push(worker);
  await worker.start();
  const control = createControlClient(new MemoryControlTransport(bus), { timeoutMs: 300 });
  const client = createClient({ broker, backend });
  return { broker, backend, reads, probe, worker, control, client };
}

const until = async (check: () => boolean, what: string) => {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('a worker with remote control', () => {
  it('revoke with terminate aborts the running handler and stores REVOKED, which stays', async () => {
    const { control, client, backend, probe, worker } = await setup();
    const handle = await client.enqueue(hold, { ms: 60_000 });
    await until(() => worker.stats().active === 1, 'the task to start');
    expect(await control.revoke(handle.id, { terminate: true })).toEqual({
      'ctl@unit': { ok: `terminate: ${handle.id}` },
    });
    expect(probe.aborted).toEqual([expect.objectContaining({ code: 'TASK_REVOKED', reason: 'terminated' })]);
    await expect(handle.result({ timeoutMs: 2000 })).rejects.toMatchObject({ code: 'REMOTE_TASK_FAILED' });
    expect((await backend.get(handle.id))?.status).toBe('REVOKED');
    await until(() => worker.stats().active === 0, 'the slot to free');
    expect((await backend.get(handle.id))?.result).toMatchObject({ exc_message: ['terminated'] });
  });

  it('a terminated handler that ignores its signal keeps its slot, and its late result is not stored', async () => {
    const { control, client, backend, worker } = await setup();
    const handle = await client.enqueue(hold, { ms: 1500, ignoreAbort: true });
    await until(() => worker.stats().active === 1, 'the task to start');
    await control.revoke(handle.id, { terminate: true, destination: ['ctl@unit'] });
    expect((await backend.get(handle.id))?.status).toBe('REVOKED');
    expect(worker.stats().active).toBe(1);
    await until(() => worker.stats().processed === 1, 'the handler to end');
    expect((await backend.get(handle.id))?.status).toBe('REVOKED');
  });

  it("a handle's revoke reaches the worker through the backend's revoke store: no read per first delivery", async () => {
    const { client, reads, probe, backend } = await setup({ concurrency: 1 });
    const before = reads();
    const first = await client.enqueue(add, { x: 1, y: 2 });
    expect(await first.result({ timeoutMs: 2000 })).toBe(3);
    expect(reads() - before).toBe(0);
    const revoked = await client.enqueue(add, { x: 2, y: 2 }, { delayMs: 200 });
    await revoked.revoke();
    const after = await client.enqueue(add, { x: 3, y: 3 }, { delayMs: 400 });
    expect(await after.result({ timeoutMs: 2000 })).toBe(6);
    expect(probe.calls.has(revoked.id)).toBe(false);
    expect((await backend.get(revoked.id))?.status).toBe('REVOKED');
  });

  it('a broadcast revoke of a queued task keeps it from running, and lists it as revoked', async () => {
    const { control, client, probe } = await setup({ concurrency: 1 });
    const id = 'revoked-before-sent';
    expect(await control.revoke(id)).toEqual({ 'ctl@unit': { ok: `tasks {'${id}'} flagged as revoked` } });
    await client.enqueue(add, { x: 1, y: 1 }, { taskId: id });
    const later = await client.enqueue(add, { x: 2, y: 1 });
    expect(await later.result({ timeoutMs: 2000 })).toBe(3);
    expect(probe.calls.has(id)).toBe(false);
    expect((await control.inspect().revoked())['ctl@unit']).toContain(id);
  });

  it('time_limit changes the limits of a task on the worker', async () => {
    const { control, client } = await setup();
    expect(await control.timeLimit('ctl.hold', { soft: 0.05, hard: 0.1 })).toEqual({
      'ctl@unit': { ok: 'time limits set successfully' },
    });
    expect((await control.inspect().registered('time_limit'))['ctl@unit']).toContain(
      'ctl.hold [time_limit=0.1]',
    );
    const handle = await client.enqueue(hold, { ms: 10_000 });
    await expect(handle.result({ timeoutMs: 3000 })).rejects.toMatchObject({
      remote: expect.objectContaining({ excType: 'TimeLimitExceeded' }),
    });
    expect(await control.timeLimit('ctl.nope', { hard: 1 })).toEqual({
      'ctl@unit': { error: 'unknown task' },
    });
  });

  it('inspect active shows the real args and kwargs of a running task', async () => {
    const { control, client, worker } = await setup();
    const handle = await client.enqueue(hold, { ms: 60_000 });
    await until(() => worker.stats().active === 1, 'the task to start');
    const active = (await control.inspect().active())['ctl@unit'] as Record<string, unknown>[];
    expect(active).toEqual([
      expect.objectContaining({ id: handle.id, args: [], kwargs: { ms: 60_000 }, acknowledged: false }),
    ]);
    await control.revoke(handle.id, { terminate: true });
  });

  it('autoscale changes the range of an autoscaling worker; pool_grow is refused there', async () => {
    const { control } = await setup({ autoscale: { min: 1, max: 4 } });
    expect(await control.autoscale(8, 2)).toEqual({ 'ctl@unit': { ok: 'autoscale now max=8 min=2' } });
    expect((await control.inspect().stats())['ctl@unit']).toMatchObject({ autoscaler: { max: 8, min: 2 } });
    expect((await control.poolGrow(1))['ctl@unit']).toMatchObject({
      error: expect.stringContaining('autoscale'),
    });
  });
});

describe('hard time limits that hold', () => {
  it('an attempt abandoned at its hard limit keeps its slot, and its retry never runs beside it', async () => {
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const { probe, tasks } = fixture();
    const worker = createWorker({
      broker,
      backend,
      tasks,
      concurrency: 4,
      defaultRetry: { max: 1, initialDelayMs: 10, jitter: false },
    });
    workers.push(worker);
    await worker.start();
    const client = createClient({ broker, backend });
    const handle = await client.enqueue(hold, { ms: 400, ignoreAbort: true }, { timeoutMs: 100 });
    await until(() => probe.aborted.length === 1, 'the hard limit');
    // Past the limit the handler still runs: the slot is still taken.
    expect(worker.stats().active).toBe(1);
    await expect(handle.result({ timeoutMs: 5000 })).rejects.toMatchObject({
      remote: expect.objectContaining({ excType: 'TimeLimitExceeded' }),
    });
    expect(probe.calls.get(handle.id)).toBe(2);
    expect(probe.maxRunning).toBe(1);
  });
});

describe('cancelling a canvas', () => {
  const total = defineTask({
    name: 'ctl.total',
    input: z.array(z.number()),
    output: z.number(),
    defaults: { queue: 'ctl' },
  });

  async function canvasSetup() {
    const bus = new MemoryControlBus();
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const { probe, tasks } = fixture();
    const worker = createWorker({
      broker,
      backend,
      tasks: [...tasks, implement(total, (xs) => xs.reduce((a, b) => a + b, 0))],
      hostname: 'canvas@unit',
      control: new MemoryControlTransport(bus),
      concurrency: 4,
    });
    workers.push(worker);
    await worker.start();
    const client = createClient({ broker, backend, control: new MemoryControlTransport(bus) });
    return { client, backend, probe, worker };
  }

  it("a chain handle's cancel aborts the running step and settles every later one REVOKED", async () => {
    const { client, backend, probe, worker } = await canvasSetup();
    // Every key given: `hold` returns a string, which `add` could not take (a type error since chains are checked).
    const middle = signature(add, { x: 1, y: 1 });
    const last = await client.chain([signature(hold, { ms: 60_000 }), middle, signature(add, { y: 2 })]);
    await until(() => worker.stats().active === 1, 'the first step to start');
    await last.cancel();
    await expect(last.result({ timeoutMs: 2000 })).rejects.toMatchObject({
      remote: expect.objectContaining({ excType: 'TaskRevokedError' }),
    });
    expect((await backend.get(middle.options.task_id as string))?.status).toBe('REVOKED');
    await until(() => probe.aborted.length === 1, 'the running step to be aborted');
    await until(() => worker.stats().active === 0, 'the slot to free');
  });

  it("a chord handle's cancel aborts the running members and revokes the body", async () => {
    const { client, probe, worker } = await canvasSetup();
    const body = await client.chord(
      [signature(hold, { ms: 60_000 }), signature(hold, { ms: 60_000 })],
      signature(total),
    );
    await until(() => worker.stats().active === 2, 'the members to start');
    await body.cancel();
    await expect(body.result({ timeoutMs: 2000 })).rejects.toMatchObject({ remote: expect.anything() });
    expect((await body.status()).state).toBe('REVOKED');
    await until(() => probe.aborted.length === 2, 'both members to be aborted');
  });

  it("a group's cancel revokes every member not finished, and client.control reaches the workers", async () => {
    const { client, worker } = await canvasSetup();
    expect(await client.control.ping()).toEqual({ 'canvas@unit': { ok: 'pong' } });
    const handles = await client.group([signature(add, { x: 1, y: 1 }), signature(hold, { ms: 60_000 })]);
    expect(await handles[0].result({ timeoutMs: 2000 })).toBe(2);
    await until(() => worker.stats().active === 1, 'the long member to start');
    await handles.cancel();
    expect((await handles[0].status()).state).toBe('SUCCESS');
    expect((await handles[1].status()).state).toBe('REVOKED');
  });

  it('a client without a control transport says so on use', async () => {
    const client = createClient({ broker: new MemoryBroker() });
    expect(() => client.control).toThrow(/control transport/);
  });
});

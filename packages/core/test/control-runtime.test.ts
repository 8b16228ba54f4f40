import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import { createTaskMessage } from '../src/message.js';
import {
  createClient,
  createControlClient,
  MemoryControlBus,
  MemoryControlTransport,
} from '../src/producer/index.js';
import {
  type CeleryEvent,
  createWorker,
  type EventTransport,
  implement,
  sendCeleryEvents,
  type Worker,
} from '../src/worker/index.js';

const hold = defineTask({
  name: 'rt.hold',
  input: z.object({ ms: z.number() }),
  output: z.string(),
  defaults: { queue: 'rt' },
});
const add = defineTask({
  name: 'rt.add',
  input: z.object({ x: z.number(), y: z.number() }),
  output: z.number(),
  defaults: { queue: 'rt' },
});

const workers: Worker[] = [];
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((s) => s()));
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 200 })));
});

async function setup() {
  const bus = new MemoryControlBus();
  const broker = new MemoryBroker();
  const backend = new MemoryResultBackend();
  const calls = new Map<string, number>();
  const count = (id: string) => calls.set(id, (calls.get(id) ?? 0) + 1);
  const worker = createWorker({
    broker,
    backend,
    hostname: 'rt@unit',
    control: new MemoryControlTransport(bus),
    concurrency: 2,
    tasks: [
      implement(hold, async ({ ms }, ctx) => {
        count(ctx.id);
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, ms);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(ctx.signal.reason);
          });
        });
        return 'finished';
      }),
      implement(add, ({ x, y }, ctx) => {
        count(ctx.id);
        return x + y;
      }),
    ],
  });
  workers.push(worker);
  await worker.start();
  const control = createControlClient(new MemoryControlTransport(bus), { timeoutMs: 300 });
  const client = createClient({ broker, backend });
  return { broker, backend, worker, control, client, calls };
}

const until = async (check: () => boolean, what: string) => {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

const queueNames = (replies: Record<string, unknown>) =>
  (replies['rt@unit'] as { name: string }[]).map((q) => q.name);

describe('add_consumer and cancel_consumer', () => {
  it('add_consumer starts consuming a queue at runtime and active_queues lists it', async () => {
    const { control, client, worker } = await setup();
    expect(queueNames(await control.inspect().activeQueues())).toEqual(['rt']);
    const waiting = await client.enqueue(add, { x: 1, y: 2 }, { queue: 'extra' });
    expect(await control.addConsumer('extra')).toEqual({ 'rt@unit': { ok: 'add consumer extra' } });
    expect(await waiting.result({ timeoutMs: 2000 })).toBe(3);
    expect(queueNames(await control.inspect().activeQueues())).toEqual(['rt', 'extra']);
    expect(worker.queues).toEqual(['rt', 'extra']);
    // Still consuming the first queue, through the new consumer.
    expect(await (await client.enqueue(add, { x: 2, y: 2 })).result({ timeoutMs: 2000 })).toBe(4);
  });

  it('cancel_consumer stops consuming a queue; a task of it already running finishes once', async () => {
    const { control, client, broker, calls, worker } = await setup();
    await control.addConsumer('extra');
    const running = await client.enqueue(hold, { ms: 300 }, { queue: 'extra' });
    await until(() => worker.stats().active === 1, 'the task to start');
    expect(await control.cancelConsumer('extra')).toEqual({
      'rt@unit': { ok: 'no longer consuming from extra' },
    });
    expect(queueNames(await control.inspect().activeQueues())).toEqual(['rt']);
    expect(await running.result({ timeoutMs: 3000 })).toBe('finished');
    expect(calls.get(running.id)).toBe(1);
    const left = await client.enqueue(add, { x: 5, y: 5 }, { queue: 'extra' });
    expect(await (await client.enqueue(add, { x: 1, y: 1 })).result({ timeoutMs: 2000 })).toBe(2);
    expect(await broker.depth('extra')).toBe(1);
    expect(calls.has(left.id)).toBe(false);
  });

  it('a worker whose every queue is cancelled consumes again after add_consumer', async () => {
    const { control, client } = await setup();
    await control.cancelConsumer('rt');
    expect(queueNames(await control.inspect().activeQueues())).toEqual([]);
    const handle = await client.enqueue(add, { x: 3, y: 4 });
    await control.addConsumer('rt');
    expect(await handle.result({ timeoutMs: 2000 })).toBe(7);
  });
});

function recordingEvents() {
  const sent: CeleryEvent[] = [];
  const transport: EventTransport = {
    publishEvent: async (_key, body) => {
      sent.push(...(Array.isArray(body) ? body : [body]));
    },
    close: async () => {},
  };
  const types = (prefix: string) => sent.filter((e) => e.type.startsWith(prefix)).map((e) => e.type);
  return { sent, transport, types };
}

describe('enable_events, disable_events and heartbeat', () => {
  it('switch task events of a running sender on and off', async () => {
    const { control, client, worker } = await setup();
    const { transport, types } = recordingEvents();
    const sender = sendCeleryEvents(worker, transport, { freq: 60, taskEvents: false });
    stops.push(sender);
    await (await client.enqueue(add, { x: 1, y: 1 })).result({ timeoutMs: 2000 });
    expect(types('task-')).toEqual([]);

    expect(await control.enableEvents()).toEqual({ 'rt@unit': { ok: 'task events enabled' } });
    expect(await control.enableEvents()).toEqual({ 'rt@unit': { ok: 'task events already enabled' } });
    expect(sender.taskEvents).toBe(true);
    await (await client.enqueue(add, { x: 1, y: 2 })).result({ timeoutMs: 2000 });
    // The result is visible once stored; the worker's own bookkeeping and events follow its ack.
    await vi.waitFor(() =>
      expect(types('task-')).toEqual(['task-received', 'task-started', 'task-succeeded']),
    );

    expect(await control.disableEvents()).toEqual({ 'rt@unit': { ok: 'task events disabled' } });
    expect(await control.disableEvents()).toEqual({ 'rt@unit': { ok: 'task events already disabled' } });
    await (await client.enqueue(add, { x: 1, y: 3 })).result({ timeoutMs: 2000 });
    await vi.waitFor(() => expect(worker.stats().succeeded).toBe(3));
    expect(types('task-')).toHaveLength(3);
  });

  it('heartbeat sends a worker-heartbeat at once', async () => {
    const { control, worker } = await setup();
    const { transport, types } = recordingEvents();
    stops.push(sendCeleryEvents(worker, transport, { freq: 60 }));
    expect(types('worker-heartbeat')).toEqual([]);
    expect(await control.heartbeat()).toEqual({ 'rt@unit': null });
    expect(types('worker-heartbeat')).toEqual(['worker-heartbeat']);
  });

  it('without an event sender, the commands answer as a Celery worker without a dispatcher', async () => {
    const { control, worker } = await setup();
    expect(await control.enableEvents()).toEqual({ 'rt@unit': { error: 'event dispatcher unavailable' } });
    const sender = sendCeleryEvents(worker, recordingEvents().transport, { freq: 60 });
    await sender();
    expect(await control.disableEvents()).toEqual({ 'rt@unit': { error: 'event dispatcher unavailable' } });
  });
});

describe('revoke_by_stamped_headers', () => {
  const stamped = (stamp: string, ms: number) => {
    const message = createTaskMessage({ task: 'rt.hold', kwargs: { ms } });
    message.headers.stamped_headers = ['batch'];
    message.headers.stamps = { batch: stamp };
    return message;
  };

  it('keeps tasks carrying a revoked stamp from running; others run', async () => {
    const { control, broker, backend, calls } = await setup();
    expect(await control.revokeByStampedHeaders({ batch: 'b1' })).toEqual({
      'rt@unit': { ok: `headers {"batch":["b1"]} flagged as revoked, but not terminated` },
    });
    const revoked = stamped('b1', 1);
    const other = stamped('b2', 1);
    await broker.publish({ queue: 'rt', message: revoked });
    await broker.publish({ queue: 'rt', message: other });
    // Published first, settled first: once the other one ran, the revoked one was seen.
    await until(() => calls.has(other.headers.id), 'the other task to run');
    await expect.poll(async () => (await backend.get(revoked.headers.id))?.status).toBe('REVOKED');
    expect(calls.has(revoked.headers.id)).toBe(false);
  });

  it('with terminate, aborts running tasks that carry the stamp and stores REVOKED', async () => {
    const { control, broker, backend, worker } = await setup();
    const running = stamped('b9', 60_000);
    await broker.publish({ queue: 'rt', message: running });
    await until(() => worker.stats().active === 1, 'the task to start');
    expect(
      await control.broadcast('revoke_by_stamped_headers', { headers: ['batch=b9'], terminate: true }),
    ).toEqual({ 'rt@unit': { ok: `headers {"batch":["b9"]} revoked` } });
    expect((await backend.get(running.headers.id))?.status).toBe('REVOKED');
    await until(() => worker.stats().active === 0, 'the slot to free');
  });
});

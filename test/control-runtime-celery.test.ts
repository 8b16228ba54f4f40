import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Broker, MemoryResultBackend } from '@celeriac/core';
import type { ControlTransport } from '@celeriac/core/adapter';
import { createClient, createControlClient } from '@celeriac/core/producer';
import {
  type CeleryEvent,
  type CeleryEventsHandle,
  createWorker,
  type EventTransport,
  sendCeleryEvents,
  type Worker,
} from '@celeriac/core/worker';
import { add as addTask } from '@celeriac/demo-tasks';
import { demoTasks } from '@celeriac/demo-tasks/tasks';
import { requireCelery, requireService } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CeleryControlEnv, pythonInspectAll } from './control-helpers.js';

const exec = promisify(execFile);
const interop = fileURLToPath(new URL('./interop/', import.meta.url));
const redisUrl = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const amqpUrl = process.env.CELERIAC_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const python = requireCelery();

/** `app.control.<method>(destination=[node], reply=True, **kwargs)` in Python: its replies. */
async function appControl(
  c: CeleryControlEnv,
  node: string,
  method: string,
  kwargs: Record<string, unknown> = {},
): Promise<unknown> {
  const { stdout } = await exec(c.python, ['ctl_app.py', 'call', node, method, JSON.stringify(kwargs)], {
    cwd: interop,
    env: { ...process.env, CTL_BROKER: c.broker, CTL_NS: c.namespace },
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) as string);
}

interface Setup {
  readonly name: string;
  readonly url: string;
  readonly up: boolean;
  makeBroker(): Promise<Broker>;
  makeTransport(namespace: string): Promise<ControlTransport>;
  makeEvents(): Promise<EventTransport>;
}

const setups: Setup[] = [
  {
    name: 'redis',
    url: redisUrl,
    up: await requireService('redis', redisUrl),
    makeBroker: async () => (await import('@celeriac/broker-redis')).createBroker(redisUrl),
    makeTransport: async (namespace) =>
      (await import('@celeriac/broker-redis')).createControlTransport(redisUrl, { namespace }),
    makeEvents: async () => (await import('@celeriac/broker-redis')).createEventTransport(redisUrl),
  },
  {
    name: 'rabbitmq',
    url: amqpUrl,
    up: await requireService('rabbitmq', amqpUrl),
    makeBroker: async () => (await import('@celeriac/broker-rabbitmq')).createBroker(amqpUrl),
    makeTransport: async (namespace) =>
      (await import('@celeriac/broker-rabbitmq')).createControlTransport(amqpUrl, { namespace }),
    makeEvents: async () => (await import('@celeriac/broker-rabbitmq')).createEventTransport(amqpUrl),
  },
];

describe.each(setups)('queues and events of a TypeScript worker steered from Celery on $name', (setup) => {
  const namespace = uniqueName('ctl-rt');
  const queue = uniqueName('ctl-rt-q');
  const added = uniqueName('ctl-rt-added');
  const node = `ts-${queue}@test`;
  const env: CeleryControlEnv = { python: python ?? '', broker: setup.url, namespace };
  const backend = new MemoryResultBackend();
  const sent: CeleryEvent[] = [];
  let broker: Broker;
  let worker: Worker;
  let transport: ControlTransport;
  let events: EventTransport;
  let sender: CeleryEventsHandle;

  beforeAll(async () => {
    if (!setup.up || !python) return;
    broker = await setup.makeBroker();
    transport = await setup.makeTransport(namespace);
    events = await setup.makeEvents();
    worker = createWorker({
      broker,
      backend,
      tasks: demoTasks,
      queues: [queue],
      concurrency: 2,
      hostname: node,
      control: transport,
    });
    await worker.start();
    // The real transport, recording what goes out through it.
    const recording: EventTransport = {
      publishEvent: (key, body, hostname) => {
        sent.push(...(Array.isArray(body) ? body : [body]));
        return events.publishEvent(key, body, hostname);
      },
      close: () => events.close(),
    };
    sender = sendCeleryEvents(worker, recording, { freq: 60, taskEvents: false });
  }, 60_000);

  afterAll(async () => {
    await sender?.();
    await worker?.stop({ graceMs: 200 });
    await transport?.close();
    await events?.close();
    if (broker) await Promise.allSettled([broker.purge(added), broker.purge(queue)]);
    await broker?.close();
  });

  const queuesListed = async () =>
    ((await pythonInspectAll(env, node)).active_queues as Record<string, { name: string }[]>)[node]?.map(
      (q) => q.name,
    );

  it.skipIf(!setup.up || !python)(
    '`app.control.add_consumer` and `cancel_consumer` change the queues a TypeScript worker consumes',
    async () => {
      const client = createClient({ broker, backend });
      const waiting = await client.enqueue(addTask, { x: 20, y: 22 }, { queue: added });
      expect(await appControl(env, node, 'add_consumer', { queue: added })).toEqual([
        { [node]: { ok: `add consumer ${added}` } },
      ]);
      expect(await waiting.result({ timeoutMs: 10_000 })).toBe(42);
      expect(await queuesListed()).toEqual([queue, added]);

      expect(await appControl(env, node, 'cancel_consumer', { queue: added })).toEqual([
        { [node]: { ok: `no longer consuming from ${added}` } },
      ]);
      expect(await queuesListed()).toEqual([queue]);
      // Still consuming its own queue, through the consumer that replaced the first one.
      expect(
        await (await client.enqueue(addTask, { x: 1, y: 1 }, { queue })).result({ timeoutMs: 10_000 }),
      ).toBe(2);
    },
    90_000,
  );

  it.skipIf(!setup.up || !python)(
    "Celeriac's control client adds and cancels a consumer over the same transport",
    async () => {
      const control = createControlClient(await setup.makeTransport(namespace), { timeoutMs: 2000 });
      try {
        const waiting = await createClient({ broker, backend }).enqueue(
          addTask,
          { x: 1, y: 2 },
          { queue: added },
        );
        const sentAt = Date.now();
        expect(await control.addConsumer(added, { destination: [node] })).toEqual({
          [node]: { ok: `add consumer ${added}` },
        });
        expect(await waiting.result({ timeoutMs: 10_000 })).toBe(3);
        // For the report: command sent → first task of the added queue done.
        console.log(
          `[measure] ${setup.name}: add_consumer sent → its queue's waiting task done in ${Date.now() - sentAt} ms`,
        );
        const listed = (await control.inspect({ destination: [node] }).activeQueues())[node];
        expect(listed?.map((q) => q.name)).toEqual([queue, added]);
        expect(await control.cancelConsumer(added, { destination: [node] })).toEqual({
          [node]: { ok: `no longer consuming from ${added}` },
        });
        expect(worker.queues).toEqual([queue]);
      } finally {
        await control.close();
      }
    },
    60_000,
  );

  it.skipIf(!setup.up || !python)(
    '`app.control.enable_events`, `disable_events` and `heartbeat` drive the worker’s Celery events',
    async () => {
      const taskEvents = () => sent.filter((e) => e.type.startsWith('task-')).length;
      const client = createClient({ broker, backend });
      expect(await appControl(env, node, 'enable_events')).toEqual([
        { [node]: { ok: 'task events enabled' } },
      ]);
      await (await client.enqueue(addTask, { x: 2, y: 3 }, { queue })).result({ timeoutMs: 10_000 });
      // task-succeeded follows the stored result.
      await waitFor(() => taskEvents() === 3, { what: 'the task events' });
      expect(sent.filter((e) => e.type.startsWith('task-')).map((e) => e.type)).toEqual([
        'task-received',
        'task-started',
        'task-succeeded',
      ]);
      expect(await appControl(env, node, 'disable_events')).toEqual([
        { [node]: { ok: 'task events disabled' } },
      ]);
      await (await client.enqueue(addTask, { x: 2, y: 4 }, { queue })).result({ timeoutMs: 10_000 });
      expect(taskEvents()).toBe(3);

      const beats = () => sent.filter((e) => e.type === 'worker-heartbeat').length;
      expect(beats()).toBe(0);
      expect(await appControl(env, node, 'heartbeat')).toEqual([{ [node]: null }]);
      expect(beats()).toBe(1);
    },
    60_000,
  );
});

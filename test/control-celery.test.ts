import { type Broker, MemoryResultBackend } from '@celeriac/core';
import type { ControlTransport } from '@celeriac/core/adapter';
import { createClient } from '@celeriac/core/producer';
import { createWorker, type Worker } from '@celeriac/core/worker';
import { sleep as sleepTask } from '@celeriac/demo-tasks';
import { demoTasks } from '@celeriac/demo-tasks/tasks';
import { freePort, requireCelery, requireService } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CeleryControlEnv,
  celeryCli,
  celeryInspect,
  pythonControl,
  pythonControlTimed,
  pythonInspectAll,
  startFlower,
} from './control-helpers.js';

const redisUrl = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const amqpUrl = process.env.CELERIAC_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const python = requireCelery();

interface Setup {
  readonly name: string;
  readonly url: string;
  readonly up: boolean;
  makeBroker(): Promise<Broker>;
  makeTransport(namespace: string): Promise<ControlTransport>;
}

const setups: Setup[] = [
  {
    name: 'redis',
    url: redisUrl,
    up: await requireService('redis', redisUrl),
    makeBroker: async () => (await import('@celeriac/broker-redis')).createBroker(redisUrl),
    makeTransport: async (namespace) =>
      (await import('@celeriac/broker-redis')).createControlTransport(redisUrl, { namespace }),
  },
  {
    name: 'rabbitmq',
    url: amqpUrl,
    up: await requireService('rabbitmq', amqpUrl),
    makeBroker: async () => (await import('@celeriac/broker-rabbitmq')).createBroker(amqpUrl),
    makeTransport: async (namespace) =>
      (await import('@celeriac/broker-rabbitmq')).createControlTransport(amqpUrl, { namespace }),
  },
];

describe.each(setups)('Celery remote control of a TypeScript worker on $name', (setup) => {
  // A namespace (Celery's control_exchange) of this file's own: no other test's worker answers.
  const namespace = uniqueName('ctl');
  const queue = uniqueName('ctl-q');
  const node = `ts-${queue}@test`;
  const env: CeleryControlEnv = { python, broker: setup.url, namespace };
  const backend = new MemoryResultBackend();
  let broker: Broker;
  let worker: Worker;
  let transport: ControlTransport;
  let client: ReturnType<typeof createClient>;
  let runningId: string;

  beforeAll(async () => {
    if (!setup.up || !python) return;
    broker = await setup.makeBroker();
    transport = await setup.makeTransport(namespace);
    worker = createWorker({
      broker,
      backend,
      tasks: demoTasks,
      queues: [queue],
      concurrency: 3,
      hostname: node,
      control: transport,
    });
    await worker.start();
    client = createClient({ broker, backend });
    // A task that runs until the worker stops, so `active` has something to show.
    runningId = (await client.enqueue(sleepTask, { ms: 120_000 }, { queue })).id;
    await waitFor(() => worker.stats().active === 1, { what: 'the long task to start' });
  }, 60_000);

  afterAll(async () => {
    await worker?.stop({ graceMs: 200 });
    await transport?.close();
    await broker?.close();
  });

  it.skipIf(!setup.up || !python)(
    '`celery inspect ping` and `app.control.ping()` get a pong',
    async () => {
      expect(await celeryInspect(env, 'ping', node)).toEqual({ [node]: { ok: 'pong' } });
      const all = await pythonInspectAll(env, node, runningId);
      expect(all.ping).toEqual([{ [node]: { ok: 'pong' } }]);
    },
    60_000,
  );

  it.skipIf(!setup.up || !python)(
    '`celery inspect registered` lists the TypeScript tasks',
    async () => {
      const reply = await celeryInspect(env, 'registered', node);
      expect(reply[node]).toEqual(['demo.add', 'demo.echo', 'demo.fail', 'demo.sleep']);
      const all = await pythonInspectAll(env, node);
      expect((all.registered_items as Record<string, string[]>)[node]).toContain('demo.add [time_limit=30]');
    },
    60_000,
  );

  it.skipIf(!setup.up || !python)(
    '`celery inspect active` shows the running task with its delivery info',
    async () => {
      const reply = (await celeryInspect(env, 'active', node)) as Record<string, Record<string, unknown>[]>;
      expect(reply[node]).toHaveLength(1);
      expect(reply[node]?.[0]).toMatchObject({
        id: runningId,
        name: 'demo.sleep',
        type: 'demo.sleep',
        hostname: node,
        acknowledged: false,
        delivery_info: { exchange: '', routing_key: queue, redelivered: false },
        worker_pid: process.pid,
      });
      expect(reply[node]?.[0]?.time_start).toBeCloseTo(Date.now() / 1000, -2);
      const all = await pythonInspectAll(env, node, runningId);
      expect((all.active_safe as Record<string, { kwargs: string }[]>)[node]?.[0]?.kwargs).toContain(
        '120000',
      );
      expect((all.query_task as Record<string, Record<string, unknown[]>>)[node]?.[runningId]?.[0]).toBe(
        'active',
      );
      expect(all.reserved).toEqual({ [node]: [] });
      expect(all.scheduled).toEqual({ [node]: [] });
    },
    60_000,
  );

  it.skipIf(!setup.up || !python)(
    '`celery inspect stats` reports pool, broker, totals and rusage',
    async () => {
      const reply = (await celeryInspect(env, 'stats', node)) as Record<string, Record<string, unknown>>;
      const stats = reply[node] as Record<string, unknown>;
      expect(stats).toMatchObject({
        pid: process.pid,
        total: { 'demo.sleep': 1 },
        pool: { 'max-concurrency': 3, processes: [process.pid] },
        broker: { transport: setup.name === 'redis' ? 'redis' : 'amqp', hostname: '127.0.0.1' },
        prefetch_count: 3,
      });
      expect((stats.rusage as { utime: number }).utime).toBeGreaterThan(0);
      const all = await pythonInspectAll(env, node);
      expect((all.active_queues as Record<string, { name: string }[]>)[node]?.map((q) => q.name)).toEqual([
        queue,
      ]);
      expect((all.clock as Record<string, { clock: number }>)[node]?.clock).toBeGreaterThan(0);
    },
    60_000,
  );

  it.skipIf(!setup.up || !python)(
    'control commands answer in Celery shapes: pool_grow, errors, unknown names',
    async () => {
      expect(await pythonControl(env, node, 'pool_grow', { n: 2 })).toEqual([
        { [node]: { ok: 'pool will grow' } },
      ]);
      expect(worker.stats().concurrency).toBe(5);
      expect(await pythonControl(env, node, 'pool_shrink', { n: 2 })).toEqual([
        { [node]: { ok: 'pool will shrink' } },
      ]);
      expect(worker.stats().concurrency).toBe(3);
      expect(await pythonControl(env, node, 'autoscale', { max: 4, min: 1 })).toEqual([
        { [node]: { error: "ValueError('Autoscale not enabled')" } },
      ]);
      expect(await pythonControl(env, node, 'no_such_command', {})).toEqual([
        { [node]: { error: "KeyError('no_such_command')" } },
      ]);
      expect(await pythonControl(env, node, 'time_limit', { task_name: 'nope', soft: 1, hard: 2 })).toEqual([
        { [node]: expect.objectContaining({ error: expect.any(String) }) },
      ]);
    },
    60_000,
  );

  it.skipIf(!setup.up || !python)(
    'a broadcast `revoke` keeps a queued task from running anywhere',
    async () => {
      const id = uniqueName('revoked-task');
      expect(await pythonControl(env, node, 'revoke', { task_id: id })).toEqual([
        { [node]: { ok: `tasks {'${id}'} flagged as revoked` } },
      ]);
      expect((await backend.get(id))?.status).toBe('REVOKED');
      const all = await pythonInspectAll(env, node);
      expect((all.revoked as Record<string, string[]>)[node]).toContain(id);
    },
    60_000,
  );

  it.skipIf(!setup.up || !python)(
    '`celery control terminate` and `app.control.revoke(terminate=True)` stop a running 30 s task with REVOKED stored',
    async () => {
      for (const how of ['cli', 'python'] as const) {
        const handle = await client.enqueue(sleepTask, { ms: 30_000 }, { queue });
        await waitFor(async () => (await backend.get(handle.id)) === null && worker.stats().active === 2, {
          what: 'the 30 s task to start',
        });
        let reply: string;
        let sentAt = Date.now();
        if (how === 'cli') {
          reply = await celeryCli(env, [
            'control',
            'terminate',
            'SIGTERM',
            handle.id,
            '-d',
            node,
            '-t',
            '5',
            '--json',
          ]);
        } else {
          const timed = await pythonControlTimed(env, node, 'revoke', {
            task_id: handle.id,
            terminate: true,
            signal: 'SIGTERM',
          });
          sentAt = timed.sentAt;
          reply = JSON.stringify(timed.replies);
        }
        expect(reply).toContain(`terminate: ${handle.id}`);
        const error = await handle.result({ timeoutMs: 10_000 }).catch((e: unknown) => e);
        const done = Date.parse(String((await backend.get(handle.id))?.date_done));
        // For the report: command sent → REVOKED stored (the CLI's figure includes its own start-up).
        console.log(`[measure] ${setup.name} ${how}: terminate sent → REVOKED stored in ${done - sentAt} ms`);
        expect(error).toMatchObject({ remote: expect.objectContaining({ excType: 'TaskRevokedError' }) });
        expect((await backend.get(handle.id))?.status).toBe('REVOKED');
        await waitFor(() => worker.stats().active === 1, { what: 'the slot of the terminated task to free' });
      }
    },
    90_000,
  );

  it.skipIf(!setup.up || !python)(
    "`app.control.time_limit` changes a TypeScript task's limits",
    async () => {
      expect(
        await pythonControl(env, node, 'time_limit', { task_name: 'demo.sleep', soft: 0.2, hard: 0.5 }),
      ).toEqual([{ [node]: { ok: 'time limits set successfully' } }]);
      const all = await pythonInspectAll(env, node);
      expect((all.registered_items as Record<string, string[]>)[node]).toContain(
        'demo.sleep [time_limit=0.5 soft_time_limit=0.2]',
      );
      const limited = await client.enqueue(sleepTask, { ms: 10_000 }, { queue });
      const error = await limited.result({ timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ remote: expect.objectContaining({ excType: 'TimeLimitExceeded' }) });
      // Back to the contract's limits (none).
      await pythonControl(env, node, 'time_limit', { task_name: 'demo.sleep', soft: null, hard: null });
      const free = await client.enqueue(sleepTask, { ms: 600 }, { queue });
      expect(await free.result({ timeoutMs: 10_000 })).toBe(600);
    },
    60_000,
  );

  it.skipIf(!setup.up || !python)(
    "Flower shows the TypeScript worker's registered tasks and revokes a running task through its REST API",
    async () => {
      const flower = await startFlower(env, await freePort());
      try {
        const workers = (await (
          await fetch(`${flower.url}/api/workers?refresh=1&workername=${encodeURIComponent(node)}`)
        ).json()) as Record<string, Record<string, unknown>>;
        expect(workers[node]?.registered).toEqual(['demo.add', 'demo.echo', 'demo.fail', 'demo.sleep']);
        expect(workers[node]?.stats).toMatchObject({ pool: { 'max-concurrency': 3 } });
        expect(workers[node]?.active_queues).toEqual([expect.objectContaining({ name: queue })]);

        const handle = await client.enqueue(sleepTask, { ms: 30_000 }, { queue });
        await waitFor(() => worker.stats().active === 2, { what: 'the 30 s task to start' });
        const response = await fetch(`${flower.url}/api/task/revoke/${handle.id}?terminate=true`, {
          method: 'POST',
        });
        expect(await response.json()).toEqual({ message: `Revoked '${handle.id}'` });
        const error = await handle.result({ timeoutMs: 10_000 }).catch((e: unknown) => e);
        expect(error).toMatchObject({ remote: expect.objectContaining({ excType: 'TaskRevokedError' }) });
        expect((await backend.get(handle.id))?.status).toBe('REVOKED');
      } finally {
        await flower.stop();
      }
    },
    90_000,
  );
});

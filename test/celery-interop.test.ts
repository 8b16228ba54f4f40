import { randomUUID } from 'node:crypto';
import { RemoteTaskError } from '@celeriac/core';
import type { Client } from '@celeriac/core/producer';
import { createWorker, sendCeleryEvents } from '@celeriac/core/worker';
import { demoTasks } from '@celeriac/demo-tasks/tasks';
import { requireCelery, requireService } from '@celeriac/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InteropSides, parseChecks, runPython, startInterop, startPython } from './celery-driver.js';

const redisUrl = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const python = requireCelery();
const up = await requireService('redis', redisUrl);
const driver = { python, redisUrl };

describe.skipIf(!up || !python)('interop with real Python Celery over Redis', () => {
  const tsQueue = `interop-ts-${randomUUID().slice(0, 8)}`;
  const pyQueue = `interop-py-${randomUUID().slice(0, 8)}`;
  let client: Client;
  let sides: InteropSides | undefined;

  beforeAll(async () => {
    sides = await startInterop(driver, {
      tsQueue,
      pyQueue,
      tasks: demoTasks,
      concurrency: 4,
      pyConcurrency: 2,
    });
    ({ client } = sides);
  }, 60_000);

  afterAll(async () => {
    await sides?.close();
  });

  it('a Python worker runs tasks a TypeScript producer sends, and the result comes back', async () => {
    const handle = await client.send('py.add', { kwargs: { x: 2, y: 3 } }, { queue: pyQueue });
    expect(await handle.result({ timeoutMs: 30_000 })).toBe(5);
  });

  it('dates travel both ways as kombu tags', async () => {
    const when = new Date('2024-01-02T03:04:05.678Z');
    const echoed = await client.send('py.echo', { kwargs: { value: { when } } }, { queue: pyQueue });
    expect(await echoed.result({ timeoutMs: 30_000 })).toEqual({ when });
    const made = await client.send('py.when', {}, { queue: pyQueue });
    expect(await made.result({ timeoutMs: 30_000 })).toEqual({ at: when });
  });

  it('a Python exception surfaces as a RemoteTaskError with its Python type', async () => {
    const handle = await client.send(
      'py.fail',
      { kwargs: { message: 'boom from python' } },
      { queue: pyQueue },
    );
    const error = await handle.result({ timeoutMs: 30_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteTaskError);
    expect((error as RemoteTaskError).remote).toMatchObject({
      excType: 'ValueError',
      excModule: 'builtins',
      excMessage: 'boom from python',
    });
  });

  it('Celery monitoring (the event State Flower uses) sees a TypeScript worker alive and its tasks', async () => {
    const { createBroker, createEventTransport } = await import('@celeriac/broker-redis');
    const { createResultBackend } = await import('@celeriac/backend-redis');
    const queue = `interop-ev-${randomUUID().slice(0, 8)}`;
    const broker = createBroker(redisUrl);
    const backend = createResultBackend(redisUrl);
    const monitored = createWorker({
      broker,
      backend,
      tasks: demoTasks,
      queues: [queue],
      hostname: `ts-${queue}@test`,
    });
    const listener = startPython(driver, ['py_events.py', '6']);
    await listener.started;
    await monitored.start();
    const stopEvents = sendCeleryEvents(monitored, createEventTransport(redisUrl), { freq: 1 });
    const handle = await client.send('demo.add', { kwargs: { x: 20, y: 22 } }, { queue });
    expect(await handle.result({ timeoutMs: 20_000 })).toBe(42);
    const seen = JSON.parse((await listener.output).trim().split('\n').at(-1) as string) as {
      workers: Record<string, { alive: boolean; sw_ident: string }>;
      tasks: Record<string, { name: string; state: string; result: string }>;
    };
    await stopEvents();
    await monitored.stop({ graceMs: 500 });
    await Promise.allSettled([broker.close(), backend.close()]);
    expect(seen.workers[`ts-${queue}@test`]).toMatchObject({ alive: true, sw_ident: 'celeriac' });
    expect(seen.tasks[handle.id]).toMatchObject({ name: 'demo.add', state: 'SUCCESS', result: '42' });
  }, 60_000);

  it('Python Celery calls TypeScript tasks: kwargs, positional, countdown, priority, failures, chains', async () => {
    const checks = parseChecks(await runPython(driver, ['py_client.py', tsQueue, pyQueue]));
    expect(checks.kwargs).toMatchObject({ ok: true, value: 5 });
    expect(checks.positional).toMatchObject({ ok: true, value: 42 });
    expect(checks.countdown).toMatchObject({ ok: true, value: 2 });
    expect(checks.priority).toMatchObject({ ok: true, value: 10 });
    expect(checks.failure).toMatchObject({ ok: false, error: expect.stringContaining('from python') });
    expect(checks.invalid).toMatchObject({ ok: false, type: 'ValidationError' });
    expect(checks.unknown).toMatchObject({ ok: false, type: 'NotRegistered' });
    expect(checks.chain).toMatchObject({ ok: true, value: 113 });
  }, 90_000);
});

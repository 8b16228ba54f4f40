import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deadLetterKey, RedisBroker } from '@celeriac/broker-redis';
import { type Broker, defineTask, MemoryBroker, MemoryResultBackend } from '@celeriac/core';
import { createClient } from '@celeriac/core/producer';
import { createWorker, implement, type Worker } from '@celeriac/core/worker';
import { requireService } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  collectWorkerMetrics,
  listeningPort,
  METRIC_NAMES,
  metricsHandler,
  OTHER_LABEL,
  serveMetrics,
} from '../src/index.js';
import { stampSentAt } from '../src/producer.js';
import { sampleValue, scrape } from './scrape.js';

const redisUrl = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisUp = await requireService('redis', redisUrl);

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** An embedded worker with an add task and a failing task on `queue`, and its metrics served on a free port. */
async function embeddedWorker(broker: Broker, queue: string) {
  const add = defineTask({
    name: 'metrics.add',
    input: z.object({ x: z.number(), y: z.number() }),
    output: z.number(),
    defaults: { queue },
  });
  const boom = defineTask({
    name: 'metrics.boom',
    input: z.object({}),
    output: z.null(),
    defaults: { queue },
  });
  const tasks = [
    implement(add, ({ x, y }) => x + y),
    implement(boom, () => {
      throw new Error('boom');
    }),
  ];
  const backend = new MemoryResultBackend();
  const worker = createWorker({ broker, backend, tasks, concurrency: 4, queues: [queue] });
  const metrics = collectWorkerMetrics(worker, {
    broker,
    taskNames: tasks.map((t) => t.contract.name),
    maxTaskNames: 0,
  });
  const server = await serveMetrics({ registry: metrics.registry, port: 0 });
  const client = createClient({ broker, backend, interceptors: [stampSentAt()] });
  closers.push(
    async () => worker.stop({ graceMs: 1_000 }),
    async () => metrics.stop(),
    () => new Promise((r) => server.close(r)),
    () => client.close(),
  );
  return { worker, client, add, boom, url: `http://127.0.0.1:${listeningPort(server)}/metrics` };
}

/** Runs the same tasks on any broker: two successes, a failure, a task nobody implements. */
async function exercise(broker: Broker, queue: string) {
  const { worker, client, add, boom, url } = await embeddedWorker(broker, queue);
  // Waiting messages before the worker starts: the depth gauge sees them.
  const first = await client.enqueue(add, { x: 1, y: 2 });
  const second = await client.enqueue(add, { x: 3, y: 4 });
  const before = await scrape(url);
  expect(sampleValue(before, METRIC_NAMES.queueDepth, { queue })).toBe(2);
  expect(sampleValue(before, METRIC_NAMES.concurrency)).toBe(4);

  await worker.start();
  expect(await first.result({ timeoutMs: 10_000 })).toBe(3);
  expect(await second.result({ timeoutMs: 10_000 })).toBe(7);
  await expect((await client.enqueue(boom, {})).result({ timeoutMs: 10_000 })).rejects.toThrow();
  await client.send('made.up.by.someone', { kwargs: {} }, { queue });
  await waitFor(
    async () => sampleValue(await scrape(url), METRIC_NAMES.deadLetters, { reason: 'TASK_NOT_REGISTERED' }),
    {
      what: 'the dead letter in the metrics',
    },
  );

  const after = await scrape(url);
  expect(sampleValue(after, METRIC_NAMES.tasks, { task: 'metrics.add', state: 'SUCCESS' })).toBe(2);
  expect(sampleValue(after, METRIC_NAMES.tasks, { task: 'metrics.boom', state: 'FAILURE' })).toBe(1);
  // The made-up name gets no series of its own.
  expect(sampleValue(after, METRIC_NAMES.tasks, { task: OTHER_LABEL, state: 'REJECTED' })).toBe(1);
  expect(after.some((s) => s.labels.task === 'made.up.by.someone')).toBe(false);
  expect(sampleValue(after, `${METRIC_NAMES.taskDuration}_count`, { task: 'metrics.add' })).toBe(2);
  // Every stamped message that reached a worker was measured: two adds, the failure, the rejected one.
  expect(sampleValue(after, `${METRIC_NAMES.queueLatency}_count`, { queue })).toBe(4);
  expect(sampleValue(after, METRIC_NAMES.queueDepth, { queue })).toBe(0);
  expect(sampleValue(after, METRIC_NAMES.active)).toBe(0);
  expect(sampleValue(after, METRIC_NAMES.eventLoopLag, { quantile: '0.99' })).toBeGreaterThanOrEqual(0);
  return { worker, url };
}

describe('worker metrics scraped from an embedded worker', () => {
  it('on the memory broker', async () => {
    await exercise(new MemoryBroker(), uniqueName('metrics'));
  });

  it.skipIf(!redisUp)('on Redis', async () => {
    const queue = uniqueName('metrics');
    // The client closes the broker it was given; the dead letter's key is removed afterwards.
    closers.push(async () => {
      const redis = new Redis(redisUrl);
      await redis.del(deadLetterKey(false, queue));
      redis.disconnect();
    });
    await exercise(new RedisBroker({ url: redisUrl }), queue);
  });

  it('mounts on a server the application already runs', async () => {
    const worker: Worker = createWorker({ broker: new MemoryBroker(), tasks: [], queues: ['q'] });
    const { registry, stop } = collectWorkerMetrics(worker);
    const handler = metricsHandler(registry);
    const server = createServer((req, res) => {
      if (req.url === '/internal/metrics') handler(req, res);
      else res.writeHead(200).end('app');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(
      async () => stop(),
      () => new Promise((r) => server.close(r)),
    );
    const samples = await scrape(
      `http://127.0.0.1:${(server.address() as AddressInfo).port}/internal/metrics`,
    );
    expect(sampleValue(samples, METRIC_NAMES.concurrency)).toBe(10);
    // No broker given: no depth series.
    expect(samples.some((s) => s.name === METRIC_NAMES.queueDepth)).toBe(false);
  });
});

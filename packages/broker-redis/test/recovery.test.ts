import { execFileSync, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { sleep, uniqueName, waitFor } from '@celeriac/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { delayedKey, type RedisBroker } from '../src/index.js';
import { redisUrl, testBroker } from './helpers.js';
import { startRedis } from './redis-server.js';

const up = await requireService('redis', redisUrl);
const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');

describe.skipIf(!up)('recovery', () => {
  const redis = new Redis(redisUrl);
  const brokers: RedisBroker[] = [];
  const broker = (options: Parameters<typeof testBroker>[0] = {}) => {
    const b = testBroker(options);
    brokers.push(b);
    return b;
  };
  async function record(b: RedisBroker, queue: string, prefetch = 1) {
    const deliveries: Delivery[] = [];
    const consumer = await b.consume({ queues: [queue], prefetch, onDelivery: (d) => deliveries.push(d) });
    return { consumer, deliveries, queue };
  }
  afterEach(async () => {
    await Promise.allSettled(brokers.splice(0).map((b) => b.close()));
  });
  afterAll(() => redis.disconnect());

  describe('a consumer process killed with SIGKILL mid-task', () => {
    beforeAll(() => {
      // The child runs the compiled package (and core), as an installed worker would.
      const tsc = join(pkg, '../../node_modules/.bin/tsc');
      execFileSync(tsc, ['-p', 'tsconfig.build.json'], { cwd: join(pkg, '../core'), stdio: 'inherit' });
      execFileSync(tsc, ['-p', 'tsconfig.build.json'], { cwd: pkg, stdio: 'inherit' });
    }, 120_000);

    it('has its message delivered again, once, with delivery count 2', async () => {
      const queue = uniqueName('kill');
      const child = spawn(process.execPath, [join(here, 'fixtures/hold-one.mjs'), redisUrl, queue], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        await waitFor(() => out.includes('ready'), { timeoutMs: 15_000, what: 'child consumer ready' });
        const message = createTaskMessage({ task: 'tasks.slow' });
        await broker().publish({ queue, message });
        await waitFor(() => out.includes(`got ${message.headers.id} 1`), { what: 'child took the message' });
      } finally {
        child.kill('SIGKILL');
      }
      await exited;

      const survivor = await record(broker(), queue, 5);
      const d = await waitFor(() => survivor.deliveries[0], { timeoutMs: 15_000, what: 'redelivery' });
      expect(d.kind === 'task' && d.message.headers.task).toBe('tasks.slow');
      expect(d.deliveryCount).toBe(2);
      await d.ack();
      await sleep(1000);
      expect(survivor.deliveries).toHaveLength(1);
      expect(await survivor.consumer.close()).toBeUndefined();
    });
  });

  it('ignores the late ack of a consumer that was presumed dead, keeping the redelivered copy safe', async () => {
    const queue = uniqueName('late');
    const errors: string[] = [];
    // A slow heartbeat, so the test can declare it dead before it renews.
    const slow = broker({ heartbeatIntervalMs: 10_000, consumerTimeoutMs: 30_000 });
    const first: Delivery[] = [];
    const slowConsumer = await slow.consume({
      queues: [queue],
      prefetch: 1,
      onDelivery: (d) => first.push(d),
      onError: (e) => errors.push(e.message),
    });
    const message = createTaskMessage({ task: 'tasks.late' });
    await slow.publish({ queue, message });
    const stale = await waitFor(() => first[0], { what: 'first delivery' });
    await slowConsumer.pause();
    const { id } = slowConsumer as unknown as { id: string };
    await redis.zadd('_celeriac.consumers', 0, id);

    const fast = await record(broker(), queue);
    const fresh = await waitFor(() => fast.deliveries[0], { timeoutMs: 10_000, what: 'redelivery' });
    expect(fresh.deliveryCount).toBe(2);
    await stale.ack();
    expect(errors.some((m) => m.includes('presumed dead'))).toBe(true);
    // The redelivered copy is still held (the stale ack did not remove it), and settles normally.
    const freshHeld = `_celeriac.held.${(fast.consumer as unknown as { id: string }).id}`;
    expect(await redis.zcard(freshHeld)).toBe(1);
    const [tag] = await redis.zrange(freshHeld, 0, 0);
    expect(await redis.hexists('unacked', tag ?? '')).toBe(1);
    await fresh.ack();
    expect(await redis.hexists('unacked', tag ?? '')).toBe(0);
    expect(await redis.zcard(freshHeld)).toBe(0);
  });

  it('dead-letters a message over its delivery limit, with the reason', async () => {
    const queue = uniqueName('limit');
    const b = broker({ maxDeliveries: 3 });
    const message = createTaskMessage({ task: 'tasks.poison' });
    await b.publish({ queue, message });
    const counts: number[] = [];
    await b.consume({
      queues: [queue],
      prefetch: 1,
      onDelivery: (d) => {
        counts.push(d.deliveryCount);
        void d.requeue();
      },
    });
    const [dead] = await waitFor(
      async () => {
        const list = await b.readDeadLetters(queue);
        return list.length ? list : undefined;
      },
      { what: 'dead letter' },
    );
    expect(counts).toEqual([1, 2, 3]);
    expect(dead?.reason.code).toBe('DELIVERY_LIMIT');
    expect(dead?.reason.message).toContain('limit 3');
    expect(dead?.raw).toContain(message.headers.id);
    expect(await b.depth(queue)).toBe(0);
    // Redriven, it starts over with a fresh count.
    expect(await b.redriveDeadLetters(queue)).toBe(1);
    await waitFor(() => counts.length >= 4, { what: 'redriven delivery' });
    expect(counts[3]).toBe(1);
  });

  it('dead-letters after repeated consumer crashes (crash loop)', async () => {
    const queue = uniqueName('crashloop');
    const limit = 2;
    await broker().publish({ queue, message: createTaskMessage({ task: 'tasks.crashes' }) });
    for (let i = 1; i <= limit; i++) {
      const doomed = testBroker({ maxDeliveries: limit });
      const rec = await record(doomed, queue);
      const d = await waitFor(() => rec.deliveries[0], { timeoutMs: 15_000, what: `delivery ${i}` });
      expect(d.deliveryCount).toBe(i);
      await doomed.destroy();
    }
    const watcher = broker({ maxDeliveries: limit });
    const rec = await record(watcher, queue);
    const [dead] = await waitFor(
      async () => {
        const list = await watcher.readDeadLetters(queue);
        return list.length ? list : undefined;
      },
      { timeoutMs: 15_000, what: 'dead letter after crashes' },
    );
    expect(dead?.reason.code).toBe('DELIVERY_LIMIT');
    expect(rec.deliveries).toHaveLength(0);
  });

  it('puts back a message held under its name that it never heard of (a lost fetch reply)', async () => {
    const queue = uniqueName('lost');
    const b = broker();
    const rec = await record(b, queue, 5);
    const { id } = rec.consumer as unknown as { id: string };
    // As if a fetch ran on the server but its reply died with the connection.
    const message = createTaskMessage({ task: 'tasks.orphan' });
    await b.publish({ queue, message, delayMs: 60_000 });
    const [member] = await redis.zrange(delayedKey(false, queue), 0, 0);
    const envelope = member?.split('|').slice(2).join('|') ?? '';
    const tag = JSON.parse(envelope).properties.delivery_tag as string;
    await redis
      .multi()
      .del(delayedKey(false, queue))
      .hset('unacked', tag, `[${envelope}, "", ${JSON.stringify(queue)}]`)
      .zadd('unacked_index', Date.now() / 1000, tag)
      .zadd(`_celeriac.held.${id}`, 0, tag)
      .exec();
    // The next heartbeat sees more held than known, and the fetch loop reconciles.
    const d = await waitFor(() => rec.deliveries[0], { timeoutMs: 10_000, what: 'reconciled delivery' });
    expect(d.kind === 'task' && d.message.headers.id).toBe(message.headers.id);
    await d.ack();
    expect(await redis.hexists('unacked', tag)).toBe(0);
  });

  it('keeps delayed messages in Redis across a consumer restart', async () => {
    const queue = uniqueName('delay');
    const b = broker();
    const first = await record(b, queue);
    const message = createTaskMessage({ task: 'tasks.later' });
    await b.publish({ queue, message, delayMs: 1500 });
    expect(await redis.zcard(delayedKey(false, queue))).toBe(1);
    expect(await b.depth(queue)).toBe(0);
    await first.consumer.close();
    await sleep(1800);
    // Nobody consumed while it fell due; a new consumer gets it, once.
    const second = await record(broker(), queue);
    const d = await waitFor(() => second.deliveries[0], { what: 'delayed delivery' });
    expect(d.kind === 'task' && d.message.headers.id).toBe(message.headers.id);
    expect(first.deliveries).toHaveLength(0);
    expect(await redis.zcard(delayedKey(false, queue))).toBe(0);
    await d.ack();
  });

  it('runs a delay longer than the visibility timeout once, never early', async () => {
    // Its own server: a 1 s visibility timeout on the shared one would restore other suites' messages.
    const server = await startRedis();
    const url = `redis://127.0.0.1:${server.port}`;
    try {
      const b = broker({ url, visibilityTimeoutSeconds: 1 });
      const other = broker({ url, visibilityTimeoutSeconds: 1 });
      const rec = await record(b, uniqueName('eta'));
      const rec2 = await record(other, rec.queue);
      await b.publish({ queue: rec.queue, message: createTaskMessage({ task: 'tasks.eta' }), delayMs: 2500 });
      await sleep(1500);
      expect(rec.deliveries.length + rec2.deliveries.length).toBe(0);
      await waitFor(() => rec.deliveries.length + rec2.deliveries.length > 0, { what: 'due delivery' });
      const [d] = [...rec.deliveries, ...rec2.deliveries];
      expect(d?.deliveryCount).toBe(1);
      await sleep(2500); // two more visibility timeouts while it is held
      expect(rec.deliveries.length + rec2.deliveries.length).toBe(1);
      await d?.ack();
    } finally {
      await Promise.allSettled(brokers.splice(0).map((x) => x.close()));
      await server.stop();
    }
  });

  it('pushes delayed messages at once with an eta header on eta-only queues (for Python workers)', async () => {
    const queue = uniqueName('etaonly');
    const b = broker({ etaOnlyQueues: [queue] });
    const before = Date.now();
    await b.publish({ queue, message: createTaskMessage({ task: 'tasks.py' }), delayMs: 60_000 });
    expect(await redis.zcard(delayedKey(false, queue))).toBe(0);
    // No priority set: kombu's main list, where a Python producer's default message goes too.
    const [text] = await redis.lrange(queue, 0, -1);
    const eta = Date.parse(JSON.parse(text ?? '{}').headers.eta);
    expect(eta).toBeGreaterThanOrEqual(before + 60_000);
    expect(eta).toBeLessThan(Date.now() + 61_000);
    expect(await b.purge(queue)).toBe(1);
  });

  it('delivers in priority order, first in first out within a level', async () => {
    const queue = uniqueName('prio');
    const b = broker();
    const sent = [0, 9, 5, 2, 9, 7, 0, 4].map((priority, i) =>
      createTaskMessage({ task: 'tasks.p', priority, kwargs: { i } }),
    );
    for (const message of sent) await b.publish({ queue, message });
    const rec = await record(b, queue, 1);
    const order: number[] = [];
    while (order.length < sent.length) {
      const d = await waitFor(() => rec.deliveries[order.length], { what: `delivery ${order.length + 1}` });
      order.push(d.kind === 'task' ? (d.message.body[1].i as number) : -1);
      await d.ack();
    }
    // Steps: {9,7} → {5,4} → {2} → {0,0}; publish order within each.
    expect(order).toEqual([1, 4, 5, 2, 7, 3, 0, 6]);
  });
});

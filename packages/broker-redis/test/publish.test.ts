import { Socket } from 'node:net';
import { createTaskMessage } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { decodeEnvelope, listKey, type RedisBroker } from '../src/index.js';
import { brokerPool, redisUrl, testBroker } from './helpers.js';

const up = await requireService('redis', redisUrl);

const wakeKey = (queue: string) => `_celeriac.wake.${queue}`;

describe.skipIf(!up)('publishing one message at a time', () => {
  const redis = new Redis(redisUrl);
  const pool = brokerPool();
  const broker = () => pool.make();

  afterAll(async () => {
    await pool.closeAll();
    redis.disconnect();
  });

  const send = (b: RedisBroker, queue: string, i: number) =>
    b.publish({ queue, message: createTaskMessage({ task: 'tasks.add', args: [i] }) });

  it('pushes each message in order, with a wake-up token a blocked consumer receives', async () => {
    const b = broker();
    const queue = uniqueName('pub-order');
    await send(b, queue, 0); // connects
    const blocked = redis.duplicate();
    try {
      await blocked.del(wakeKey(queue));
      const waiting = blocked.blpop(wakeKey(queue), 5);
      await waitFor(async () => {
        const clients = (await redis.client('LIST')) as string;
        return clients.includes('cmd=blpop');
      });
      await send(b, queue, 1);
      expect(await waiting).toEqual([wakeKey(queue), '1']);
    } finally {
      blocked.disconnect();
    }
    for (let i = 2; i < 5; i++) await send(b, queue, i);
    // Consumers take from the right: the oldest message first.
    const raws = await redis.lrange(listKey(false, queue, 0), 0, -1);
    expect(raws.reverse().map((raw) => decodeEnvelope(raw).body[0])).toEqual([[0], [1], [2], [3], [4]]);
  });

  it('sends the publishes of one tick in one socket write, still in order', async () => {
    const b = broker();
    const queue = uniqueName('pub-tick');
    await send(b, queue, -1); // connects
    const writev = vi.spyOn(Socket.prototype, '_writev');
    const write = vi.spyOn(Socket.prototype, '_write');
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => send(b, queue, i)));
      // 20 publishes of two commands each: one flush of the corked socket, not 20 (or 40).
      expect(writev.mock.calls.length + write.mock.calls.length).toBe(1);
    } finally {
      writev.mockRestore();
      write.mockRestore();
    }
    const raws = await redis.lrange(listKey(false, queue, 0), 0, -1);
    expect(raws.reverse().map((raw) => decodeEnvelope(raw).body[0])).toEqual(
      Array.from({ length: 21 }, (_, i) => [i - 1]),
    );
    expect(await redis.llen(wakeKey(queue))).toBeGreaterThan(0);
  });

  it('gathers the publishes of one tick into one LPUSH per list, each caller settled by it', async () => {
    const b = broker();
    const queue = uniqueName('pub-gather');
    await send(b, queue, -1); // connects
    const lpushCalls = async () => {
      const stats = (await redis.info('commandstats')) as string;
      return Number(/cmdstat_lpush:calls=(\d+)/.exec(stats)?.[1] ?? 0);
    };
    const before = await lpushCalls();
    const sent = Array.from({ length: 30 }, (_, i) => send(b, queue, i));
    await Promise.all(sent);
    // The envelopes and the wake-up tokens: two commands for thirty publishes.
    expect((await lpushCalls()) - before).toBe(2);
    expect(await redis.llen(listKey(false, queue, 0))).toBe(31);
    // As many tokens as the list keeps, so up to that many blocked consumers wake.
    expect(await redis.llen(wakeKey(queue))).toBeGreaterThanOrEqual(16);
  });

  it('fails the publishes gathered in a tick when the broker is destroyed before they go out', async () => {
    const b = testBroker();
    const queue = uniqueName('pub-destroy');
    await send(b, queue, -1);
    const pending = send(b, queue, 0);
    await b.destroy();
    await expect(pending).rejects.toMatchObject({ code: 'CLOSED' });
    expect(await redis.llen(listKey(false, queue, 0))).toBe(1);
  });

  it('keeps the wake-up list of a queue nobody consumes short, and lets it expire', async () => {
    const b = broker();
    const queue = uniqueName('pub-wake');
    for (let i = 0; i < 100; i++) await send(b, queue, i);
    expect(await redis.llen(listKey(false, queue, 0))).toBe(100);
    expect(await redis.llen(wakeKey(queue))).toBeLessThanOrEqual(32);
    // Trimmed to the cap soon after the last publish, without waiting for close, and expiring.
    await waitFor(async () => (await redis.llen(wakeKey(queue))) <= 16, { what: 'a trimmed wake-up list' });
    expect(await redis.pttl(wakeKey(queue))).toBeGreaterThan(0);
  });

  it('gives the last wake-up list its TTL when the broker closes', async () => {
    const b = testBroker();
    const queue = uniqueName('pub-close');
    await send(b, queue, 0);
    await b.close();
    expect(await redis.pttl(wakeKey(queue))).toBeGreaterThan(0);
    expect(await redis.llen(wakeKey(queue))).toBe(1);
  });

  it('publishes a batch for one list in one go, tokens capped as before', async () => {
    const b = broker();
    const queue = uniqueName('pub-batch');
    const messages = Array.from({ length: 50 }, (_, i) => ({
      queue,
      message: createTaskMessage({ task: 'tasks.add', args: [i] }),
    }));
    await b.publishMany(messages);
    expect(await redis.llen(listKey(false, queue, 0))).toBe(50);
    expect(await redis.llen(wakeKey(queue))).toBe(16);
    expect(await redis.pttl(wakeKey(queue))).toBeGreaterThan(0);
  });
});

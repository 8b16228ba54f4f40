import { defineTask, MemoryResultBackend } from '@celeriac/core';
import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { createWorker, implement } from '@celeriac/core/worker';
import { requireService } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { listKey, UNROUTABLE_QUEUE } from '../src/index.js';
import { brokerPool, redisUrl } from './helpers.js';

const up = await requireService('redis', redisUrl);

/**
 * Messages Redis's Lua `cjson` cannot decode, though they are valid JSON: a lone UTF-16 surrogate
 * escape (what a repr cut through an emoji, or any Python producer, writes) and nesting deeper than
 * cjson's 1000 levels. Recovery must put them back on their queue all the same.
 */
const undecodable: { name: string; headers: Record<string, unknown> }[] = [
  { name: 'a lone surrogate escape', headers: { note: 'cut through an emoji \ud83d' } },
  {
    name: 'nesting over 1000 levels',
    headers: { deep: JSON.parse(`${'['.repeat(1200)}${']'.repeat(1200)}`) },
  },
];

/** A schema that takes anything, so the test needs no schema library. */
const anything = {
  '~standard': { version: 1, vendor: 'test', validate: (value: unknown) => ({ value }) },
} as const;

describe.skipIf(!up)('held messages the server-side scripts cannot decode', () => {
  const redis = new Redis(redisUrl);
  const pool = brokerPool();
  afterEach(() => pool.closeAll());
  afterAll(() => redis.disconnect());

  /** The delivery tag kombu's `unacked` holds the message of task `id` under. */
  async function heldTag(id: string): Promise<string> {
    let cursor = '0';
    do {
      const [next, items] = await redis.hscan('unacked', cursor, 'COUNT', 1000);
      for (let i = 0; i + 1 < items.length; i += 2) {
        if (items[i + 1]?.includes(id)) return items[i] as string;
      }
      cursor = next;
    } while (cursor !== '0');
    throw new Error(`task ${id} is not held`);
  }

  async function takeOne(queue: string, headers: Record<string, unknown>) {
    const producer = pool.make();
    const message = createTaskMessage({ task: 'tasks.bad', headers });
    await producer.publish({ queue, message });
    const broker = pool.make();
    const got: Delivery[] = [];
    const consumer = await broker.consume({ queues: [queue], prefetch: 1, onDelivery: (d) => got.push(d) });
    const first = await waitFor(() => got[0], { what: 'the message to be delivered' });
    if (first.kind !== 'task') throw new Error('expected a task delivery');
    const id = message.headers.id;
    return { broker, consumer, tag: await heldTag(id), id };
  }

  async function receiveAgain(queue: string) {
    const got: Delivery[] = [];
    const consumer = await pool
      .make()
      .consume({ queues: [queue], prefetch: 1, onDelivery: (d) => got.push(d) });
    const again = await waitFor(() => got[0], { what: 'the message to be delivered again' });
    await again.ack();
    await consumer.close();
    return again;
  }

  for (const c of undecodable) {
    it(`returns a message with ${c.name} to its queue when its consumer closes`, async () => {
      const queue = uniqueName('undecodable-close');
      const { consumer, tag, id } = await takeOne(queue, c.headers);
      await consumer.close();
      expect(await redis.hexists('unacked', tag)).toBe(0);
      expect(await redis.zscore('unacked_index', tag)).toBeNull();
      expect(await redis.llen(listKey(false, queue, 0))).toBe(1);
      const again = await receiveAgain(queue);
      expect(again.kind === 'task' && again.message.headers.id).toBe(id);
      expect(again.deliveryCount).toBe(2);
    });

    it(`delivers a message with ${c.name} again when its consumer dies`, async () => {
      const queue = uniqueName('undecodable-crash');
      const { broker, tag, id } = await takeOne(queue, c.headers);
      await broker.destroy();
      const again = await receiveAgain(queue);
      expect(again.kind === 'task' && again.message.headers.id).toBe(id);
      expect(await redis.hexists('unacked', tag)).toBe(0);
    });
  }

  it('restores a message with a lone surrogate that a vanished Python worker held (visibility timeout)', async () => {
    const queue = uniqueName('undecodable-visibility');
    const tag = `py-${uniqueName()}`;
    // Python's json.dumps writes a lone surrogate as an escape, and the entry as kombu does.
    const envelope =
      `{"body": "W1tdLCB7fSwgbnVsbF0=", "content-encoding": "utf-8", "content-type": "application/json", ` +
      `"headers": {"lang": "py", "task": "tasks.add", "id": "${tag}", "kwargsrepr": "{'s': '\\ud83d'}"}, ` +
      `"properties": {"correlation_id": "${tag}", "reply_to": "", "delivery_mode": 2, ` +
      `"delivery_info": {"exchange": "", "routing_key": "${queue}"}, "priority": 0, ` +
      `"body_encoding": "base64", "delivery_tag": "${tag}"}}`;
    await redis.hset('unacked', tag, `[${envelope}, "", "${queue}"]`);
    await redis.zadd('unacked_index', Date.now() / 1000 - 7200, tag);
    // Any consumer's sweep restores it (visibility timeout 3600 s by default).
    const again = await receiveAgain(queue);
    expect(again.kind === 'task' && again.message.headers.id).toBe(tag);
    expect(await redis.hexists('unacked', tag)).toBe(0);
    expect(await redis.zscore('unacked_index', tag)).toBeNull();
  });

  it('dead-letters a held entry it cannot route, with a reason, instead of leaving it held', async () => {
    const tag = `junk-${uniqueName()}`;
    await redis.hset('unacked', tag, 'not a kombu entry \ud83d');
    await redis.zadd('unacked_index', Date.now() / 1000 - 7200, tag);
    const broker = pool.make();
    const consumer = await broker.consume({
      queues: [uniqueName('sweeper')],
      prefetch: 1,
      onDelivery: () => {},
    });
    const letter = await waitFor(
      async () =>
        (await broker.readDeadLetters(UNROUTABLE_QUEUE, 10_000)).find((d) => d.reason.message.includes(tag)),
      { what: 'the unroutable entry to be dead-lettered' },
    );
    await consumer.close();
    expect(letter.reason.code).toBe('UNROUTABLE');
    expect(await redis.hexists('unacked', tag)).toBe(0);
    expect(await redis.zscore('unacked_index', tag)).toBeNull();
  });

  it('puts a message back on its queue when a worker is stopped past its grace (the issue repro)', async () => {
    const queue = uniqueName('undecodable-grace');
    const task = defineTask({
      name: 'tasks.stubborn',
      input: anything,
      output: anything,
      defaults: { queue },
    });
    let started = false;
    const worker = createWorker({
      broker: pool.make(),
      backend: new MemoryResultBackend(),
      // Ignores its abort signal: still running when the consumer closes.
      tasks: [
        implement(task, () => {
          started = true;
          return new Promise(() => {});
        }),
      ],
      concurrency: 1,
    });
    await worker.start();
    // The input, with kwargsrepr cut through the emoji as the producer used to cut it.
    const text = `${'a'.repeat(1012)}😀`;
    const message = createTaskMessage({ task: task.name, kwargs: { text } });
    message.headers.kwargsrepr = `${JSON.stringify({ text }).slice(0, -3)}...`;
    expect(JSON.stringify(message.headers.kwargsrepr)).toContain('\\ud83d');
    await pool.make().publish({ queue, message });
    await waitFor(() => started, { what: 'the task to start' });
    const tag = await heldTag(message.headers.id);
    await worker.stop({ graceMs: 50 });
    expect(await redis.hexists('unacked', tag)).toBe(0);
    expect(await redis.llen(listKey(false, queue, 0))).toBe(1);
  });
});

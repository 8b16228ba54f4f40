import { type CeleriacError, ConfigError } from '@celeriac/core';
import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deadLetterKey, deadLettersDroppedKey, listKey } from '../src/index.js';
import { brokerPool, redisUrl } from './helpers.js';

const up = await requireService('redis', redisUrl);

describe.skipIf(!up)('queue names that collide with kombu’s keys', () => {
  const pool = brokerPool();
  afterEach(() => pool.closeAll());
  const reserved = ['unacked', 'unacked_index', 'unacked_mutex', '_kombu.binding.celery', '_celeriac.dlq.x'];

  it('are refused at publish with a ConfigError that says why', async () => {
    const broker = pool.make();
    for (const queue of reserved) {
      const message = createTaskMessage({ task: 't' });
      await expect(broker.publish({ queue, message })).rejects.toThrow(ConfigError);
      await expect(broker.publish({ queue, message, delayMs: 1000 })).rejects.toThrow(ConfigError);
      await expect(broker.publishMany([{ queue, message }])).rejects.toThrow(/not allowed/);
    }
  });

  it('are refused at consume, so a worker never stalls on WRONGTYPE', async () => {
    const broker = pool.make();
    for (const queue of reserved) {
      const consuming = broker.consume({
        queues: [uniqueName('fine'), queue],
        prefetch: 1,
        onDelivery: () => {},
      });
      await expect(consuming).rejects.toThrow(ConfigError);
    }
    await expect(broker.depth('unacked')).rejects.toThrow(ConfigError);
  });
});

describe.skipIf(!up)('the dead-letter list', () => {
  const redis = new Redis(redisUrl);
  const pool = brokerPool();
  afterEach(() => pool.closeAll());
  afterAll(() => redis.disconnect());

  async function deadLetterAll(
    options: { deadLetterMaxEntries: number; deadLetterMaxBytes: number },
    queue: string,
    messages: ReturnType<typeof createTaskMessage>[],
  ) {
    const broker = pool.make(options);
    await broker.publishMany(messages.map((message) => ({ queue, message })));
    const errors: CeleriacError[] = [];
    const got: Delivery[] = [];
    const consumer = await broker.consume({
      queues: [queue],
      prefetch: 1,
      onDelivery: (d) => got.push(d),
      onError: (e) => errors.push(e),
    });
    for (let i = 0; i < messages.length; i++) {
      const d = await waitFor(() => got[i], { what: `delivery ${i + 1}` });
      await d.deadLetter({ code: 'TEST', message: `letter ${i + 1}` });
    }
    await consumer.close();
    return { broker, errors };
  }

  it('keeps the newest entries up to its cap, and counts the ones it dropped', async () => {
    const queue = uniqueName('dlq-cap');
    const messages = Array.from({ length: 5 }, (_, i) => createTaskMessage({ task: 't', kwargs: { i } }));
    const { broker, errors } = await deadLetterAll(
      { deadLetterMaxEntries: 3, deadLetterMaxBytes: 64 * 1024 },
      queue,
      messages,
    );
    expect(await redis.llen(deadLetterKey(false, queue))).toBe(3);
    const kept = await broker.readDeadLetters(queue);
    expect(kept.map((d) => d.reason.message)).toEqual(['letter 3', 'letter 4', 'letter 5']);
    expect(await broker.deadLettersDropped(queue)).toBe(2);
    expect(errors.filter((e) => /at its cap of 3/.test(e.message))).toHaveLength(2);
    await redis.del(deadLetterKey(false, queue), deadLettersDroppedKey(false, queue));
  });

  it('keeps only the head of a raw message over its byte limit, notes the size, and does not redrive it', async () => {
    const queue = uniqueName('dlq-bytes');
    const big = createTaskMessage({ task: 't', kwargs: { blob: 'é'.repeat(50_000) } });
    const small = createTaskMessage({ task: 't' });
    const { broker } = await deadLetterAll({ deadLetterMaxEntries: 100, deadLetterMaxBytes: 4096 }, queue, [
      big,
      small,
    ]);
    const [first, second] = await broker.readDeadLetters(queue);
    expect(Buffer.byteLength(first?.raw ?? '')).toBeLessThanOrEqual(4096);
    expect(first?.raw.startsWith('{"body":')).toBe(true);
    expect(first?.reason.message).toMatch(
      /letter 1 \[raw message truncated: .* of \d+ bytes; not redriven\]/,
    );
    expect(second?.reason.message).toBe('letter 2');
    expect(await broker.redriveDeadLetters(queue)).toBe(1);
    expect(await redis.llen(listKey(false, queue, 0))).toBe(1);
    expect((await broker.readDeadLetters(queue)).map((d) => d.reason.message)).toEqual([
      first?.reason.message,
    ]);
    await redis.del(deadLetterKey(false, queue), listKey(false, queue, 0));
  });

  it('applies the cap to the delivery limit’s dead letters too', async () => {
    const queue = uniqueName('dlq-limit');
    const broker = pool.make({ maxDeliveries: 1, deadLetterMaxEntries: 2 });
    const messages = Array.from({ length: 4 }, () => createTaskMessage({ task: 't' }));
    await broker.publishMany(messages.map((message) => ({ queue, message })));
    const seen = new Set<string>();
    for (let round = 0; round < 2; round++) {
      // Each round takes every message once and returns it unsettled: the second take is over the limit.
      const got: Delivery[] = [];
      const consumer = await broker.consume({
        queues: [queue],
        prefetch: 10,
        onDelivery: (d) => got.push(d),
      });
      if (round === 0) await waitFor(() => got.length === 4, { what: 'all four delivered' });
      else await waitFor(async () => (await broker.deadLettersDropped(queue)) === 2, { what: 'two dropped' });
      for (const d of got) if (d.kind === 'task') seen.add(d.message.headers.id);
      await consumer.close();
    }
    expect(seen.size).toBe(4);
    const kept = await broker.readDeadLetters(queue);
    expect(kept.map((d) => d.reason.code)).toEqual(['DELIVERY_LIMIT', 'DELIVERY_LIMIT']);
    await redis.del(deadLetterKey(false, queue), deadLettersDroppedKey(false, queue));
  });
});

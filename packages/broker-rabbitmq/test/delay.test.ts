import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { sleep, uniqueName, waitFor } from '@celeriac/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { routeAtSend, routeSpec } from '../src/codec.js';
import {
  DELAY_LEVELS,
  delayBitPattern,
  delayEntryLevel,
  delayLevelName,
  delayRoutingKey,
  delayTier,
  normaliseDelay,
} from '../src/names.js';
import { AMQP_URL, BrokerFactory, rawConnection } from './support.js';

describe('delay chain encoding', () => {
  it('writes the delay in binary, one routing-key word per level, most significant first', () => {
    const key = delayRoutingKey(1200); // 1024 + 128 + 32 + 16
    const words = key.split('.');
    expect(words).toHaveLength(DELAY_LEVELS);
    const set = words.flatMap((w, i) => (w === '1' ? [DELAY_LEVELS - 1 - i] : []));
    expect(set).toEqual([10, 7, 5, 4]);
    expect(delayEntryLevel(1200)).toBe(10);
    expect(delayEntryLevel(1)).toBe(0);
  });

  it('matches each level pattern on exactly its own bit', () => {
    const matches = (pattern: string, key: string) => {
      const p = pattern.split('.');
      const k = key.split('.');
      const star = p.indexOf('#');
      return p.slice(0, star).every((w, i) => w === '*' || w === k[i]);
    };
    const key = delayRoutingKey(5); // levels 2 and 0
    expect(matches(delayBitPattern(2, 1), key)).toBe(true);
    expect(matches(delayBitPattern(1, 0), key)).toBe(true);
    expect(matches(delayBitPattern(0, 1), key)).toBe(true);
    expect(matches(delayBitPattern(1, 1), key)).toBe(false);
  });

  it('declares the chain in tiers, so short delays need only the bottom levels', () => {
    expect(delayTier(0)).toBe(11);
    expect(delayTier(delayEntryLevel(500))).toBe(11);
    expect(delayTier(delayEntryLevel(60_000))).toBe(17);
    expect(delayTier(delayEntryLevel(3_600_000))).toBe(23);
    expect(delayTier(delayEntryLevel(30 * 24 * 3_600_000))).toBe(DELAY_LEVELS - 1);
  });

  it('counts the delay from the publish call: time spent before sending is taken off', () => {
    const spec = routeSpec('q', Buffer.from('[]'), {}, 1200, 10_000);
    expect(spec.exchange).toBe(delayLevelName('q', 10));
    const later = routeAtSend(spec, 10_300); // 900 ms left: enters at 2^9
    expect(later.exchange).toBe(delayLevelName('q', 9));
    expect(later.routingKey).toBe(delayRoutingKey(900));
    const due = routeAtSend(spec, 11_200);
    expect([due.exchange, due.routingKey, due.needs.kind]).toEqual(['', 'q', 'queue']);
  });

  it('rounds delays up to whole milliseconds and refuses what the chain cannot hold', () => {
    expect(normaliseDelay(undefined)).toBe(0);
    expect(normaliseDelay(-5)).toBe(0);
    expect(normaliseDelay(0.2)).toBe(1);
    expect(normaliseDelay(999.01)).toBe(1000);
    expect(() => normaliseDelay(2 ** DELAY_LEVELS)).toThrow(/longest supported/);
  });
});

const up = await requireService('rabbitmq', AMQP_URL);

describe.skipIf(!up)('rabbitmq delays (TTL queue chain)', () => {
  const brokers = new BrokerFactory();
  afterAll(() => brokers.cleanup());

  it('holds a delayed message in the broker, not in the consumer, and delivers it once, never early', async () => {
    const broker = brokers.create();
    const queue = uniqueName('delay');
    const got: Delivery[] = [];
    const arrivedAt: number[] = [];
    await broker.consume({
      queues: [queue],
      prefetch: 5,
      onDelivery: (d) => {
        got.push(d);
        arrivedAt.push(Date.now());
        void d.ack();
      },
    });
    // Declare the chain first, so the order below does not depend on how long that takes.
    await broker.publish({ queue, message: createTaskMessage({ task: 'warm-up' }), delayMs: 1 });
    await waitFor(() => got.length === 1, { what: 'the warm-up message' });
    got.length = 0;
    arrivedAt.length = 0;
    const delays = [300, 1000, 1500, 77];
    const sentAt = Date.now();
    const messages = delays.map(() => createTaskMessage({ task: 't' }));
    await broker.publishMany(messages.map((message, i) => ({ queue, message, delayMs: delays[i] })));
    // While waiting they sit in the chain's queues: nothing is ready, nothing is handed out.
    const model = await rawConnection();
    try {
      const ch = await model.createChannel();
      // At least the 1000 and 1500 ms messages are still somewhere in the chain's queues.
      let waiting = 0;
      for (let level = 0; level <= 11; level++)
        waiting += (await ch.checkQueue(delayLevelName(queue, level))).messageCount;
      expect(waiting).toBeGreaterThanOrEqual(2);
    } finally {
      await model.close();
    }
    expect(await broker.depth(queue)).toBe(0);
    await waitFor(() => got.length === 4, { timeoutMs: 10_000, what: 'all delayed messages' });
    await sleep(300);
    expect(got).toHaveLength(4);
    const byId = new Map(
      got.map((d, i) => [d.kind === 'task' ? d.message.headers.id : '', arrivedAt[i] ?? 0]),
    );
    messages.forEach((m, i) => {
      expect(byId.get(m.headers.id) ?? 0).toBeGreaterThanOrEqual(sentAt + (delays[i] ?? 0));
    });
    expect(got.map((d) => (d.kind === 'task' ? d.message.headers.id : ''))).toEqual(
      [3, 0, 1, 2].map((i) => messages[i]?.headers.id),
    );
  });

  it('requeues with a delay through the chain and keeps counting deliveries', async () => {
    const broker = brokers.create();
    const queue = uniqueName('delay');
    const counts: number[] = [];
    await broker.consume({
      queues: [queue],
      prefetch: 1,
      onDelivery: (d) => {
        counts.push(d.deliveryCount);
        void (counts.length < 3 ? d.requeue({ delayMs: 150 }) : d.ack());
      },
    });
    await broker.publish({ queue, message: createTaskMessage({ task: 't' }) });
    await waitFor(() => counts.length === 3, { what: 'three deliveries' });
    expect(counts).toEqual([1, 2, 3]);
  });

  it('purges delayed messages with the queue, and depth ignores them', async () => {
    const broker = brokers.create();
    const queue = uniqueName('delay');
    const day = 24 * 3600 * 1000;
    await broker.publishMany([
      { queue, message: createTaskMessage({ task: 't' }) },
      { queue, message: createTaskMessage({ task: 't' }), delayMs: 3_600_000 },
      { queue, message: createTaskMessage({ task: 't' }), delayMs: 30 * day },
    ]);
    await waitFor(async () => (await broker.depth(queue)) === 1, { what: 'depth 1' });
    expect(await broker.purge(queue)).toBe(3);
    expect(await broker.depth(queue)).toBe(0);
    expect(await broker.purge(queue)).toBe(0);
  });
});

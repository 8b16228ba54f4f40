import { ConfigError } from '@celeriac/core';
import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { sleep, uniqueName, waitFor } from '@celeriac/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { AMQP_URL, BrokerFactory, rawConnection } from './support.js';

const up = await requireService('rabbitmq', AMQP_URL);

/** Declares a queue the way another client (e.g. Celery with task_queue_max_priority=10) did. */
async function declareForeign(queue: string, args: Record<string, unknown>): Promise<void> {
  const model = await rawConnection();
  try {
    const ch = await model.createChannel();
    await ch.assertQueue(queue, { durable: true, arguments: args });
  } finally {
    await model.close();
  }
}

describe.skipIf(!up)('rabbitmq topology', () => {
  const brokers = new BrokerFactory();
  afterAll(() => brokers.cleanup());

  it('explains a 406 on an existing x-max-priority queue as a ConfigError, without crash-looping', async () => {
    const queue = brokers.track(uniqueName('prio'));
    await declareForeign(queue, { 'x-max-priority': 10 });
    const broker = brokers.create();
    const errors: unknown[] = [];

    const publish = await broker
      .publish({ queue, message: createTaskMessage({ task: 't' }) })
      .catch((e) => e);
    expect(publish).toBeInstanceOf(ConfigError);
    expect((publish as ConfigError).retriable).toBe(false);
    expect((publish as ConfigError).message).toContain('x-max-priority');
    expect((publish as ConfigError).message).toContain('maxPriority');
    expect((publish as ConfigError).message).toContain("current is the value '10'");

    const consume = await broker
      .consume({ queues: [queue], prefetch: 1, onDelivery: () => {}, onError: (e) => errors.push(e) })
      .catch((e) => e);
    expect(consume).toBeInstanceOf(ConfigError);
    expect((consume as ConfigError).message).toContain('x-max-priority');

    // The connection survived the channel error: other queues keep working on the same broker.
    const other = uniqueName('ok');
    const got: Delivery[] = [];
    await broker.consume({ queues: [other], prefetch: 1, onDelivery: (d) => got.push(d) });
    await broker.publish({ queue: other, message: createTaskMessage({ task: 't' }) });
    const d = await waitFor(() => got[0], { what: 'delivery on a healthy queue' });
    await d.ack();
    expect(errors).toEqual([]);

    // Configured like the existing queue, a broker uses it.
    const matching = brokers.create({ maxPriority: 10 });
    await matching.publish({ queue, message: createTaskMessage({ task: 't' }) });
    expect(await matching.depth(queue)).toBe(1);
  });

  it('names the queue type when a quorum queue is declared as classic', async () => {
    const queue = brokers.track(uniqueName('quorum'));
    await declareForeign(queue, { 'x-queue-type': 'quorum' });
    const error = await brokers
      .create()
      .publish({ queue, message: createTaskMessage({ task: 't' }) })
      .catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('x-queue-type');
    expect((error as ConfigError).message).toContain('queueType');
  });

  it('delivers by priority on an x-max-priority queue, 9 first', async () => {
    const broker = brokers.create({ maxPriority: 10 });
    const queue = uniqueName('prio');
    const priorities = [0, 3, 9, 5, 1, 9, 7];
    const messages = priorities.map((priority) => createTaskMessage({ task: 't', priority }));
    await broker.publishMany(messages.map((message) => ({ queue, message })));
    const got: Delivery[] = [];
    await broker.consume({
      queues: [queue],
      prefetch: 1,
      onDelivery: (d) => {
        got.push(d);
        void d.ack();
      },
    });
    await waitFor(() => got.length === messages.length, { what: 'all deliveries' });
    const order = got.map((d) => (d.kind === 'task' ? d.message.properties.priority : -1));
    expect(order).toEqual([9, 9, 7, 5, 3, 1, 0]);
    // Same priority keeps publish order (FIFO within a level).
    const nines = messages.filter((m) => m.properties.priority === 9).map((m) => m.headers.id);
    expect(got.slice(0, 2).map((d) => (d.kind === 'task' ? d.message.headers.id : ''))).toEqual(nines);
  });

  it('counts deliveries exactly on quorum queues (x-delivery-count) and dead-letters past the limit', async () => {
    const broker = brokers.create({ queueType: 'quorum', deliveryLimit: 2 });
    const queue = uniqueName('quorum');
    const message = createTaskMessage({ task: 't' });
    await broker.publish({ queue, message });
    const counts: number[] = [];
    const consumer = await broker.consume({
      queues: [queue],
      prefetch: 1,
      onDelivery: (d) => {
        counts.push(d.deliveryCount);
        void d.requeue();
      },
    });
    // Delivered, returned twice, then RabbitMQ moves it to the dead-letter queue itself.
    const dead = await waitFor(async () => (await broker.readDeadLetters(queue))[0], { what: 'dead letter' });
    await consumer.close();
    expect(counts).toEqual([1, 2, 3]);
    expect(dead.reason.code).toBe('DELIVERY_LIMIT');
    expect(dead.raw).toContain(message.headers.id);
  });

  it('keeps classic delivery counts exact across requeues, or reports 2 when asked not to', async () => {
    for (const exact of [true, false]) {
      const broker = brokers.create({ exactDeliveryCount: exact });
      const queue = uniqueName('count');
      await broker.publish({ queue, message: createTaskMessage({ task: 't' }) });
      const counts: number[] = [];
      const consumer = await broker.consume({
        queues: [queue],
        prefetch: 1,
        onDelivery: (d) => {
          counts.push(d.deliveryCount);
          void (counts.length < 4 ? d.requeue() : d.ack());
        },
      });
      await waitFor(() => counts.length === 4, { what: 'four deliveries' });
      await sleep(100);
      await consumer.close();
      expect(counts).toEqual(exact ? [1, 2, 3, 4] : [1, 2, 2, 2]);
    }
  });

  it('declares again instead of losing a message when its queue was deleted behind its back', async () => {
    const broker = brokers.create();
    const queue = uniqueName('gone');
    await broker.publish({ queue, message: createTaskMessage({ task: 't' }) });
    const model = await rawConnection();
    try {
      await (await model.createChannel()).deleteQueue(queue);
    } finally {
      await model.close();
    }
    // The declaration is cached, so this publish is unroutable at first: RabbitMQ returns it.
    const again = createTaskMessage({ task: 't' });
    await broker.publish({ queue, message: again });
    expect(await broker.depth(queue)).toBe(1);
  });

  it('rejects queue names RabbitMQ reserves or cannot hold', async () => {
    const broker = brokers.create();
    const message = createTaskMessage({ task: 't' });
    await expect(broker.publish({ queue: 'amq.mine', message })).rejects.toBeInstanceOf(ConfigError);
    await expect(broker.publish({ queue: '', message })).rejects.toBeInstanceOf(ConfigError);
    await expect(broker.publish({ queue: 'q'.repeat(250), message })).rejects.toBeInstanceOf(ConfigError);
  });
});

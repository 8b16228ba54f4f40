import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { deadLetterQueueName } from '../src/names.js';
import { resolveOptions } from '../src/options.js';
import { deadLetterQueueArguments } from '../src/topology.js';
import { AMQP_URL, BrokerFactory, rawConnection } from './support.js';

const up = await requireService('rabbitmq', AMQP_URL);

describe('the dead-letter queue’s declaration', () => {
  it('caps it at deadLetterMaxEntries, dropping the oldest', () => {
    expect(deadLetterQueueArguments(resolveOptions())).toEqual({
      'x-max-length': { '!': 'int', value: 10_000 },
      'x-overflow': 'drop-head',
    });
    expect(
      deadLetterQueueArguments(resolveOptions({ queueType: 'quorum', deadLetterMaxEntries: 5 })),
    ).toEqual({
      'x-queue-type': 'quorum',
      'x-max-length': { '!': 'int', value: 5 },
      'x-overflow': 'drop-head',
    });
    expect(() => resolveOptions({ deadLetterMaxEntries: 0 })).toThrow(/deadLetterMaxEntries/);
  });
});

describe.skipIf(!up)('rabbitmq dead letters over the cap', () => {
  const brokers = new BrokerFactory();
  afterAll(() => brokers.cleanup());

  async function deadLetter(queue: string, count: number, options = {}) {
    const broker = brokers.create(options);
    const got: Delivery[] = [];
    const consumer = await broker.consume({
      queues: [queue],
      prefetch: count,
      onDelivery: (d) => got.push(d),
    });
    await broker.publishMany(
      Array.from({ length: count }, (_, i) => ({
        queue,
        message: createTaskMessage({ task: 't', kwargs: { i } }),
      })),
    );
    await waitFor(() => got.length === count, { what: `${count} deliveries` });
    for (const [i, d] of got.entries()) await d.deadLetter({ code: 'TEST', message: `letter ${i + 1}` });
    await consumer.close();
    return broker;
  }

  it('keeps the newest deadLetterMaxEntries: RabbitMQ drops the oldest', async () => {
    const queue = uniqueName('dlq-cap');
    const broker = await deadLetter(queue, 5, { deadLetterMaxEntries: 3 });
    const kept = await broker.readDeadLetters(queue);
    expect(kept.map((d) => d.reason.message)).toEqual(['letter 3', 'letter 4', 'letter 5']);
  });

  it('keeps working with a dead-letter queue declared without the cap by an earlier version', async () => {
    const queue = brokers.track(uniqueName('dlq-legacy'));
    const model = await rawConnection();
    try {
      const ch = await model.createChannel();
      await ch.assertQueue(deadLetterQueueName(queue), {
        durable: true,
        exclusive: false,
        autoDelete: false,
      });
    } finally {
      await model.close();
    }
    const broker = await deadLetter(queue, 2);
    expect((await broker.readDeadLetters(queue)).map((d) => d.reason.message)).toEqual([
      'letter 1',
      'letter 2',
    ]);
  });
});

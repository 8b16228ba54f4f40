import { ConfigError } from '@celeriac/core';
import type { Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { testMessage, uniqueName, waitFor } from '@celeriac/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { AMQP_URL, BrokerFactory } from './support.js';

const up = await requireService('rabbitmq', AMQP_URL);

describe.skipIf(!up)('rabbitmq settlement', () => {
  const brokers = new BrokerFactory();
  afterAll(() => brokers.cleanup());

  it('keeps a delivery whose republish failed unacknowledged and unsettled, to be settled again', async () => {
    const producer = brokers.create();
    // Too small for any task message: every republish (dead letter, delayed requeue) is refused.
    const consumer = brokers.create({ maxMessageBytes: 16 });
    const queue = uniqueName('resettle');
    const got: Delivery[] = [];
    await consumer.consume({ queues: [queue], prefetch: 5, onDelivery: (d) => got.push(d) });
    const message = testMessage();
    await producer.publish({ queue, message });
    const d = await waitFor(() => got[0], { what: 'the delivery' });
    await expect(d.deadLetter({ code: 'TEST', message: 'refused' })).rejects.toThrow(/maxMessageBytes/);
    await expect(d.requeue({ delayMs: 5_000 })).rejects.toThrow(/maxMessageBytes/);
    // Still ours: this ack is what settles it, so it is not delivered again.
    await d.ack();
    const marker = testMessage();
    await producer.publish({ queue, message: marker });
    await waitFor(() => got[1], { what: 'the marker' });
    expect(got.map((g) => (g.kind === 'task' ? g.message.headers.id : g.raw))).toEqual([
      message.headers.id,
      marker.headers.id,
    ]);
    await got[1]?.ack();
  });

  it('refuses a consumer whose delivery limit the queue’s x-delivery-limit would pre-empt', async () => {
    const broker = brokers.create({ queueType: 'quorum', deliveryLimit: 5 });
    await expect(
      broker.consume({ queues: [uniqueName('limit')], prefetch: 1, maxDeliveries: 10, onDelivery: () => {} }),
    ).rejects.toBeInstanceOf(ConfigError);
  });
});

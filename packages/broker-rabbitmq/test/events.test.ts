import { requireCelery, requireService } from '@celeriac/test-services';
import { describeEventTransport, testHeartbeat, uniqueName, waitFor } from '@celeriac/testkit';
import { describe, expect, it } from 'vitest';
import { createEventReceiver } from '../src/event-receiver.js';
import { createEventTransport } from '../src/event-transport.js';
import { AMQP_URL, rawConnection } from './support.js';

const up = await requireService('rabbitmq', AMQP_URL);

describe.skipIf(!up)('Celery events over AMQP', () => {
  it('publishes to the celeryev topic exchange as Celery does: transient JSON with a hostname header', async () => {
    const model = await rawConnection();
    const transport = createEventTransport(AMQP_URL);
    const hostname = `celeriac-test-${process.pid}@host`;
    try {
      const ch = await model.createChannel();
      // What a monitor does: an exclusive queue bound to every event.
      await ch.assertExchange('celeryev', 'topic', { durable: true });
      const { queue } = await ch.assertQueue(uniqueName('celeryev'), { exclusive: true, autoDelete: true });
      await ch.bindQueue(queue, 'celeryev', '#');
      await transport.publishEvent('worker.heartbeat', testHeartbeat(hostname, 1), hostname);
      const msg = await waitFor(async () => (await ch.get(queue, { noAck: true })) || undefined, {
        what: 'event',
      });
      expect(msg.fields.exchange).toBe('celeryev');
      expect(msg.fields.routingKey).toBe('worker.heartbeat');
      expect(msg.properties.headers).toEqual({ hostname });
      expect(msg.properties.deliveryMode).toBe(1);
      expect(msg.properties.contentType).toBe('application/json');
      expect(JSON.parse(msg.content.toString('utf8'))).toMatchObject({
        type: 'worker-heartbeat',
        hostname,
        clock: 1,
      });
    } finally {
      await transport.close();
      await model.close();
    }
  });

  it('sends nowhere, without an error, when no monitor listens', async () => {
    const transport = createEventTransport(AMQP_URL);
    await expect(
      transport.publishEvent('worker.heartbeat', testHeartbeat('nobody@host', 1), 'nobody@host'),
    ).resolves.toBeUndefined();
    await transport.close();
  });
});

if (up)
  describeEventTransport('rabbitmq', {
    create: () => createEventTransport(AMQP_URL),
    receiver: () => createEventReceiver(AMQP_URL),
    celeryBrokerUrl: AMQP_URL,
    python: requireCelery(),
  });

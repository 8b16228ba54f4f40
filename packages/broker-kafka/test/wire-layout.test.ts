import type { Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { idOf, testMessage, uniqueName, waitFor } from '@celeriac/testkit';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { brokers, kafkaUrl, testBroker } from './kafka-env.js';

const up = await requireService('kafka', kafkaUrl);

describe.skipIf(!up)('record layout on the topic', () => {
  it('consumes the envelope layout and, side by side, records in the older header-per-field layout', async () => {
    const queue = uniqueName('layout');
    const broker = testBroker({ partitions: 1 });
    const kafka = new Kafka({ brokers, clientId: 'celeriac-test', logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    try {
      await broker.declareQueue(queue);
      const current = testMessage({ kwargs: { i: 1 } });
      await broker.publish({ queue, message: current });
      // A record as the adapter wrote it before the envelope header, already requeued once.
      const older = testMessage({ kwargs: { i: 2, at: new Date(0) } });
      const headers: Record<string, string> = {
        'celeriac.properties': JSON.stringify(older.properties),
        'celeriac.delivery-count': '1',
      };
      for (const [name, value] of Object.entries(older.headers))
        if (value !== undefined) headers[name] = JSON.stringify(value);
      await producer.connect();
      await producer.send({
        topic: queue,
        messages: [
          {
            key: older.headers.id,
            value: JSON.stringify([
              [],
              { i: 2, at: { __type__: 'datetime', __value__: '1970-01-01T00:00:00+00:00' } },
              null,
            ]),
            headers,
          },
        ],
      });

      const got: Delivery[] = [];
      const consumer = await broker.consume({ queues: [queue], prefetch: 5, onDelivery: (d) => got.push(d) });
      await waitFor(() => got.length === 2, { what: 'both records' });
      expect(got.map(idOf)).toEqual([current.headers.id, older.headers.id]);
      const [a, b] = got as [Delivery, Delivery];
      expect(a.kind === 'task' && a.message.headers).toEqual(current.headers);
      expect(a.deliveryCount).toBe(1);
      expect(b.kind === 'task' && b.message.headers).toEqual(older.headers);
      expect(b.kind === 'task' && b.message.body[1].at).toEqual(new Date(0));
      expect(b.deliveryCount).toBe(2);
      await a.ack();
      await b.deadLetter({ code: 'TEST', message: 'older layout' });
      await consumer.close();

      const [letter] = await broker.readDeadLetters(queue);
      expect(letter?.reason.code).toBe('TEST');
      expect(letter?.raw).toContain(older.headers.id);
    } finally {
      await producer.disconnect();
      await broker.close();
    }
  });
});

import { randomUUID } from 'node:crypto';
import { requireService } from '@celeriac/test-services';
import { describeEventTransport, testHeartbeat, waitFor } from '@celeriac/testkit';
import { Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createEventReceiver, createEventTransport, EVENT_TOPIC } from '../src/index.js';
import { brokers, kafkaUrl, testTiming } from './kafka-env.js';

const up = await requireService('kafka', kafkaUrl);
const url = `${kafkaUrl}?sessionTimeoutMs=${testTiming.sessionTimeoutMs}&heartbeatIntervalMs=${testTiming.heartbeatIntervalMs}`;

describe.skipIf(!up)('Celery events over Kafka', () => {
  it('publishes one record per event on the celeryev topic, keyed by hostname, with its routing key', async () => {
    const transport = createEventTransport(url);
    const hostname = `celeriac-test-${randomUUID()}@host`;
    await transport.publishEvent('worker.heartbeat', testHeartbeat(hostname, 7), hostname);
    await transport.close();
    // A plain kafkajs reader of the whole topic finds the record.
    const kafka = new Kafka({ brokers, clientId: 'celeriac-test', logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `celeriac-test.${randomUUID()}`, maxWaitTimeInMs: 100 });
    let found: KafkaMessage | undefined;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [EVENT_TOPIC], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          if (message.key?.toString() === hostname) found = message;
        },
      });
      const record = await waitFor(() => found, { what: 'the event record', timeoutMs: 30_000 });
      expect(record.headers?.hostname?.toString()).toBe(hostname);
      expect(record.headers?.routing_key?.toString()).toBe('worker.heartbeat');
      expect(JSON.parse(record.value?.toString() ?? '')).toMatchObject({
        type: 'worker-heartbeat',
        hostname,
        clock: 7,
      });
    } finally {
      await consumer.disconnect();
    }
  });

  it('a receiver sees what is published after it subscribed, nothing older', async () => {
    const transport = createEventTransport(url);
    const receiver = createEventReceiver(url);
    const hostname = `celeriac-test-${randomUUID()}@host`;
    try {
      await transport.publishEvent('worker.heartbeat', testHeartbeat(hostname, 1), hostname);
      const got: number[] = [];
      await receiver.subscribe((e) => {
        if (e.hostname === hostname) got.push(e.clock);
      });
      await transport.publishEvent('worker.heartbeat', testHeartbeat(hostname, 2), hostname);
      await waitFor(() => got.length > 0 || undefined, { what: 'the second event', timeoutMs: 30_000 });
      expect(got).toEqual([2]);
    } finally {
      await receiver.close();
      await transport.close();
    }
  });
});

if (up)
  describeEventTransport('kafka', {
    create: () => createEventTransport(url),
    receiver: () => createEventReceiver(url),
    // No celeryBrokerUrl: Python Celery has no event transport over Kafka.
    python: '',
  });

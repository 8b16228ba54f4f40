import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_EXCHANGE, deadLetterQueueName } from '../src/names.js';
import { AMQP_URL, BrokerFactory, injectRaw, rawConnection } from './support.js';

const up = await requireService('rabbitmq', AMQP_URL);

describe.skipIf(!up)('rabbitmq dead letters', () => {
  const brokers = new BrokerFactory();
  afterAll(() => brokers.cleanup());

  it('moves a poison message to <queue>.dlq through celeriac.dlx, with the reason in headers', async () => {
    const broker = brokers.create();
    const queue = uniqueName('poison');
    const got: Delivery[] = [];
    await broker.consume({ queues: [queue], prefetch: 1, onDelivery: (d) => got.push(d) });
    await injectRaw(queue, '\u0000garbage that is not JSON');
    const d = await waitFor(() => got[0], { what: 'the poison message' });
    expect(d.kind).toBe('malformed');
    if (d.kind !== 'malformed') return;
    await d.deadLetter({ code: d.error.code, message: d.error.message });

    // It left the work queue for good, and sits in the dead-letter queue as it came.
    expect(await broker.depth(queue)).toBe(0);
    const model = await rawConnection();
    try {
      const ch = await model.createChannel();
      const msg = await waitFor(
        async () => (await ch.get(deadLetterQueueName(queue), { noAck: false })) || undefined,
        {
          what: 'dead letter',
        },
      );
      expect(msg.fields.exchange).toBe(DEAD_LETTER_EXCHANGE);
      expect(msg.fields.routingKey).toBe(queue);
      expect(msg.content.toString('utf8')).toBe('\u0000garbage that is not JSON');
      expect(msg.properties.headers?.['x-celeriac-dead-letter-code']).toBe('MESSAGE_UNDECODABLE');
      expect(msg.properties.headers?.['x-celeriac-dead-letter-message']).toContain('MESSAGE_UNDECODABLE');
      expect(Number.isNaN(Date.parse(msg.properties.headers?.['x-celeriac-dead-letter-at']))).toBe(false);
    } finally {
      await model.close(); // the unacknowledged get goes back to the dead-letter queue
    }
    const [dead] = await broker.readDeadLetters(queue);
    expect(dead?.reason.code).toBe('MESSAGE_UNDECODABLE');
    expect(dead?.raw).toContain('garbage that is not JSON');
  });

  it('lists dead letters oldest first without removing them, and redrives them with a fresh count', async () => {
    const broker = brokers.create();
    const queue = uniqueName('dlq');
    const messages = [1, 2, 3].map((i) => createTaskMessage({ task: 't', kwargs: { i } }));
    await broker.publishMany(messages.map((message) => ({ queue, message })));
    const got: Delivery[] = [];
    const consumer = await broker.consume({ queues: [queue], prefetch: 3, onDelivery: (d) => got.push(d) });
    await waitFor(() => got.length === 3, { what: 'three deliveries' });
    for (const [i, d] of got.entries()) await d.deadLetter({ code: `CODE_${i}`, message: `reason ${i}` });
    await consumer.close();

    const first = await broker.readDeadLetters(queue);
    const again = await broker.readDeadLetters(queue, 2);
    expect(first.map((d) => d.reason.code)).toEqual(['CODE_0', 'CODE_1', 'CODE_2']);
    expect(again.map((d) => d.reason.code)).toEqual(['CODE_0', 'CODE_1']);
    expect(first.every((d) => d.queue === queue && d.at instanceof Date)).toBe(true);
    for (const [i, m] of messages.entries()) expect(first[i]?.raw).toContain(m.headers.id);

    expect(await broker.redriveDeadLetters(queue)).toBe(3);
    expect(await broker.readDeadLetters(queue)).toEqual([]);
    const back: Delivery[] = [];
    await broker.consume({ queues: [queue], prefetch: 3, onDelivery: (d) => back.push(d) });
    await waitFor(() => back.length === 3, { what: 'redriven messages' });
    expect(back.map((d) => d.deliveryCount)).toEqual([1, 1, 1]);
    expect(back.map((d) => (d.kind === 'task' ? d.message.headers.id : ''))).toEqual(
      messages.map((m) => m.headers.id),
    );
    // The reason headers do not travel back with the task.
    expect(
      back.every((d) => d.kind === 'task' && !('x-celeriac-dead-letter-code' in d.message.headers)),
    ).toBe(true);
    await Promise.all(back.map((d) => d.ack()));
  });

  it('reads nothing for a queue that never had dead letters', async () => {
    const broker = brokers.create();
    expect(await broker.readDeadLetters(uniqueName('none'))).toEqual([]);
    expect(await broker.redriveDeadLetters(uniqueName('none'))).toBe(0);
  });
});

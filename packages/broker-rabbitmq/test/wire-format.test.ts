import { randomUUID } from 'node:crypto';
import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import type { GetMessage } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { AMQP_URL, BrokerFactory, rawConnection } from './support.js';

const up = await requireService('rabbitmq', AMQP_URL);

/** Takes the one message waiting on a queue with basic.get, as the spec's captures were taken. */
async function getOne(queue: string): Promise<GetMessage> {
  const model = await rawConnection();
  try {
    const ch = await model.createChannel();
    const msg = await waitFor(async () => (await ch.get(queue, { noAck: true })) || undefined, {
      what: `a message on ${queue}`,
    });
    return msg;
  } finally {
    await model.close();
  }
}

describe.skipIf(!up)('rabbitmq wire format (celery-protocol §3)', () => {
  const brokers = new BrokerFactory();
  afterAll(() => brokers.cleanup());

  it('publishes through the default exchange with every Celery header and property', async () => {
    const broker = brokers.create();
    const queue = uniqueName('wire');
    const message = createTaskMessage({
      task: 'tasks.add',
      args: [2, 2],
      kwargs: { k: 'v' },
      priority: 7,
      timeLimitMs: 30_000,
      softTimeLimitMs: 20_000,
      expires: new Date(Date.now() + 60_000),
    });
    await broker.publish({ queue, message });
    const msg = await getOne(queue);

    expect(msg.fields.exchange).toBe('');
    expect(msg.fields.routingKey).toBe(queue);
    const p = msg.properties;
    expect(p.contentType).toBe('application/json');
    expect(p.contentEncoding).toBe('utf-8');
    expect(p.deliveryMode).toBe(2);
    expect(p.priority).toBe(7);
    expect(p.correlationId).toBe(message.headers.id);
    expect(p.replyTo).toBe('');
    // Celeriac stores REVOKED itself instead of letting RabbitMQ drop the message (see README).
    expect(p.expiration).toBeUndefined();
    // Every v2 header of §1.2, with the JSON types Python sends.
    expect(p.headers).toEqual({
      lang: 'js',
      task: 'tasks.add',
      id: message.headers.id,
      shadow: null,
      eta: null,
      expires: message.headers.expires,
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [30, 20],
      root_id: message.headers.id,
      parent_id: null,
      argsrepr: '[2,2]',
      kwargsrepr: '{"k":"v"}',
      origin: message.headers.origin,
      ignore_result: false,
      replaced_task_nesting: 0,
      stamped_headers: null,
      stamps: {},
    });
    // The body is raw UTF-8 JSON with three elements, not base64.
    expect(JSON.parse(msg.content.toString('utf8'))).toEqual([
      [2, 2],
      { k: 'v' },
      { callbacks: null, errbacks: null, chain: null, chord: null },
    ]);
  });

  it('sets the expiration property (ms) as Celery does when asked to', async () => {
    const broker = brokers.create({ messageExpiration: true });
    const queue = uniqueName('wire');
    const message = createTaskMessage({ task: 'tasks.add', expires: new Date(Date.now() + 120_000) });
    await broker.publish({ queue, message });
    const msg = await getOne(queue);
    const ms = Number(msg.properties.expiration);
    expect(typeof msg.properties.expiration).toBe('string');
    expect(ms).toBeGreaterThan(110_000);
    expect(ms).toBeLessThanOrEqual(120_000);
  });

  it('consumes a message published the way Python Celery publishes it', async () => {
    const broker = brokers.create();
    const queue = uniqueName('wire');
    const id = randomUUID();
    const received: Delivery[] = [];
    await broker.consume({ queues: [queue], prefetch: 1, onDelivery: (d) => received.push(d) });
    // The capture of §3.2: py-amqp's field table and properties, the body with Python's separators.
    const model = await rawConnection();
    try {
      const ch = await model.createConfirmChannel();
      const headers = {
        lang: 'py',
        task: 'tasks.add',
        id,
        shadow: null,
        eta: '2026-11-22T14:43:37.608533+00:00',
        expires: null,
        group: null,
        group_index: null,
        retries: { '!': 'int', value: 0 },
        timelimit: [null, null],
        root_id: id,
        parent_id: null,
        argsrepr: '(2, 2)',
        kwargsrepr: '{}',
        origin: 'gen14913@vm',
        ignore_result: false,
        replaced_task_nesting: { '!': 'int', value: 0 },
        stamped_headers: null,
        stamps: {},
      };
      ch.publish(
        '',
        queue,
        Buffer.from('[[2, 2], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]'),
        {
          headers,
          contentType: 'application/json',
          contentEncoding: 'utf-8',
          deliveryMode: 2,
          priority: 0,
          correlationId: id,
          replyTo: '28176ee8-ce82-3fbd-b4b4-b9b87631b534',
        },
      );
      await ch.waitForConfirms();
    } finally {
      await model.close();
    }
    const d = await waitFor(() => received[0], { what: 'the Python-style message' });
    expect(d.kind).toBe('task');
    if (d.kind !== 'task') return;
    expect(d.deliveryCount).toBe(1);
    expect(d.message.headers).toMatchObject({
      lang: 'py',
      task: 'tasks.add',
      id,
      eta: '2026-11-22T14:43:37.608533+00:00',
      retries: 0,
      timelimit: [null, null],
      argsrepr: '(2, 2)',
      origin: 'gen14913@vm',
    });
    expect(d.message.properties).toMatchObject({
      correlation_id: id,
      reply_to: '28176ee8-ce82-3fbd-b4b4-b9b87631b534',
      delivery_mode: 2,
      priority: 0,
    });
    expect(d.message.body).toEqual([
      [2, 2],
      {},
      { callbacks: null, errbacks: null, chain: null, chord: null },
    ]);
    await d.ack();
  });

  it('hands over a pickled (non-JSON) message as malformed, as a Python worker refuses it', async () => {
    const broker = brokers.create();
    const queue = uniqueName('wire');
    const received: Delivery[] = [];
    await broker.consume({ queues: [queue], prefetch: 1, onDelivery: (d) => received.push(d) });
    const model = await rawConnection();
    try {
      const ch = await model.createConfirmChannel();
      ch.publish('', queue, Buffer.from([0x80, 0x04, 0x95]), {
        headers: { task: 'tasks.add', id: randomUUID() },
        contentType: 'application/x-python-serialize',
        contentEncoding: 'binary',
      });
      await ch.waitForConfirms();
    } finally {
      await model.close();
    }
    const d = await waitFor(() => received[0], { what: 'the pickled message' });
    expect(d.kind).toBe('malformed');
    if (d.kind === 'malformed') expect(d.error.message).toContain('application/x-python-serialize');
    await d.deadLetter({ code: 'MESSAGE_UNDECODABLE', message: 'pickle refused' });
  });

  it('declares the queue exactly as kombu does, so Celery can declare it again', async () => {
    const queue = uniqueName('wire');
    const plain = brokers.create();
    await plain.publish({ queue, message: createTaskMessage({ task: 'tasks.add' }) });
    const priorityQueue = uniqueName('wire');
    const withPriority = brokers.create({ maxPriority: 10 });
    await withPriority.publish({ queue: priorityQueue, message: createTaskMessage({ task: 'tasks.add' }) });
    const model = await rawConnection();
    try {
      const ch = await model.createConfirmChannel();
      // kombu's declarations (entity.py): any difference would close the channel with a 406.
      await ch.assertExchange(queue, 'direct', { durable: true, autoDelete: false });
      await ch.assertQueue(queue, { durable: true, exclusive: false, autoDelete: false });
      await ch.assertQueue(priorityQueue, {
        durable: true,
        exclusive: false,
        autoDelete: false,
        arguments: { 'x-max-priority': 10 },
      });
      // The celery-style exchange is bound with the queue name, like kombu's binding.
      ch.publish(queue, queue, Buffer.from('[[], {}, null]'), { headers: { task: 't', id: randomUUID() } });
      await ch.waitForConfirms();
      const info = await ch.checkQueue(queue);
      expect(info.messageCount).toBe(2);
    } finally {
      await model.close();
    }
  });
});

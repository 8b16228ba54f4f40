import { ConfigError } from '@celeriac/core';
import { describe, expect, it } from 'vitest';
import { RabbitMQBroker } from '../src/broker.js';
import { rabbitmqBrokerCapabilities, rabbitmqCapabilities } from '../src/capabilities.js';
import { createBroker, optionsFromUrl } from '../src/create-broker.js';
import { resolveOptions } from '../src/options.js';
import { workQueueArguments } from '../src/topology.js';

describe('createBroker(url)', () => {
  it('takes amqp:// and amqps:// URLs with user, password and vhost', async () => {
    const broker = createBroker('amqps://user:p%40ss@rabbit.example:5671/prod?heartbeat=15');
    expect(broker).toBeInstanceOf(RabbitMQBroker);
    expect(broker.name).toBe('rabbitmq');
    expect(broker.capabilities).toEqual(rabbitmqBrokerCapabilities);
    // amqplib's own parameters stay in the URL it connects with.
    expect(optionsFromUrl('amqp://u:p@h:5672/%2F?heartbeat=15')).toEqual({
      url: 'amqp://u:p@h:5672/%2F?heartbeat=15',
    });
    await broker.close();
  });

  it('reads the adapter options from the query string', () => {
    expect(
      optionsFromUrl(
        'amqp://h//?maxPriority=10&confirm=false&publishTimeoutMs=5000&maxBufferedPublishes=7&messageExpiration=true',
      ),
    ).toEqual({
      url: 'amqp://h//',
      maxPriority: 10,
      confirm: false,
      publishTimeoutMs: 5000,
      maxBufferedPublishes: 7,
      messageExpiration: true,
    });
    expect(optionsFromUrl('amqp://h?queueType=quorum&deliveryLimit=5')).toMatchObject({
      queueType: 'quorum',
      deliveryLimit: 5,
    });
    expect(createBroker('amqp://h?maxPriority=10').capabilities).toMatchObject({
      priority: true,
      priorityLevels: 10,
    });
  });

  it('refuses other schemes, unknown parameters and bad values with a ConfigError', () => {
    for (const url of [
      'redis://localhost:6379',
      'amqp://h?maxPriorty=10',
      'amqp://h?maxPriority=ten',
      'amqp://h?queueType=stream',
      'amqp://h?confirm=maybe',
      'amqp://h?queueType=quorum&maxPriority=10',
      'amqp://h?deliveryLimit=3',
      'not a url',
    ]) {
      expect(() => createBroker(url), url).toThrow(ConfigError);
    }
  });

  it('keeps passwords out of messages', () => {
    expect(() => optionsFromUrl('amqp://user:secret@/vh')).toThrow(/user:\*\*\*@/);
    expect(() => resolveOptions({ url: 'http://user:secret@host' })).toThrow(/user:\*\*\*@host/);
  });
});

describe('capabilities and queue arguments', () => {
  it('claims priorities only with x-max-priority, with one level per Celery priority it covers', () => {
    expect(rabbitmqBrokerCapabilities.priority).toBe(false);
    expect(rabbitmqCapabilities({ maxPriority: 10 })).toMatchObject({ priority: true, priorityLevels: 10 });
    expect(rabbitmqCapabilities({ maxPriority: 4 })).toMatchObject({ priority: true, priorityLevels: 5 });
    expect(rabbitmqCapabilities({})).toEqual(rabbitmqBrokerCapabilities);
  });

  it('declares what Celery declares: nothing by default, x-max-priority and x-queue-type when configured', () => {
    expect(workQueueArguments(resolveOptions(), 'q')).toEqual({});
    expect(workQueueArguments(resolveOptions({ maxPriority: 10 }), 'q')).toEqual({
      'x-max-priority': { '!': 'int', value: 10 },
    });
    expect(workQueueArguments(resolveOptions({ queueType: 'quorum' }), 'q')).toEqual({
      'x-queue-type': 'quorum',
    });
    expect(workQueueArguments(resolveOptions({ queueType: 'quorum', deliveryLimit: 5 }), 'q')).toEqual({
      'x-queue-type': 'quorum',
      'x-delivery-limit': { '!': 'int', value: 5 },
      'x-dead-letter-exchange': 'celeriac.dlx',
      'x-dead-letter-routing-key': 'q',
    });
  });
});

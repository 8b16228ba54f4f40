import { BrokerError, ClosedError, ConfigError } from '@celeriac/core';
import { createTaskMessage } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { describe, expect, it } from 'vitest';
import { RabbitMQBroker } from '../src/broker.js';
import { AMQP_URL } from './support.js';

// Nothing listens on port 1: every connection attempt is refused, as while RabbitMQ is down.
const DOWN_URL = 'amqp://guest:guest@127.0.0.1:1';

describe('rabbitmq while the connection is down', () => {
  it('buffers publishes up to the bound, then fails at once; buffered ones fail after the timeout', async () => {
    const broker = new RabbitMQBroker({ url: DOWN_URL, maxBufferedPublishes: 2, publishTimeoutMs: 400 });
    const message = () => createTaskMessage({ task: 't' });
    const buffered = [
      broker.publish({ queue: 'q', message: message() }),
      broker.publish({ queue: 'q', message: message() }),
    ];
    const overflow = await broker.publish({ queue: 'q', message: message() }).catch((e) => e);
    expect(overflow).toBeInstanceOf(BrokerError);
    expect((overflow as BrokerError).retriable).toBe(true);
    expect((overflow as BrokerError).message).toContain('maxBufferedPublishes');
    for (const outcome of await Promise.allSettled(buffered)) {
      expect(outcome.status).toBe('rejected');
      const error = (outcome as PromiseRejectedResult).reason as BrokerError;
      expect(error).toBeInstanceOf(BrokerError);
      expect(error.retriable).toBe(true);
      expect(error.message).toContain('connection to RabbitMQ is down');
    }
    await broker.close();
  });

  it('fails other operations with a retriable error naming the target, without the password', async () => {
    const broker = new RabbitMQBroker({ url: DOWN_URL, connectTimeoutMs: 300 });
    const error = await broker.depth('q').catch((e) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).retriable).toBe(true);
    expect((error as BrokerError).message).toContain('amqp://guest:***@127.0.0.1:1');
    await broker.close();
    await expect(
      broker.publish({ queue: 'q', message: createTaskMessage({ task: 't' }) }),
    ).rejects.toBeInstanceOf(ClosedError);
  });
});

const up = await requireService('rabbitmq', AMQP_URL);

describe.skipIf(!up)('rabbitmq refusing the login', () => {
  it('fails with a ConfigError instead of retrying forever', async () => {
    const url = new URL(AMQP_URL);
    url.password = 'definitely-wrong';
    const broker = new RabbitMQBroker({ url: url.toString() });
    const error = await broker.depth('q').catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('ACCESS');
    expect((error as ConfigError).message).not.toContain('definitely-wrong');
    // Publishes fail with the same explanation instead of waiting for a connection that cannot come.
    await expect(broker.publish({ queue: 'q', message: createTaskMessage({ task: 't' }) })).rejects.toBe(
      error,
    );
    await broker.close();
  });

  it('explains a vhost that does not exist with a ConfigError', async () => {
    const url = new URL(AMQP_URL);
    url.pathname = '/no-such-vhost';
    const broker = new RabbitMQBroker({ url: url.toString() });
    const error = await broker.depth('q').catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('vhost');
    await broker.close();
  });
});

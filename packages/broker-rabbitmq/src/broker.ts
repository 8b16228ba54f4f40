import {
  type Broker,
  type BrokerCapabilities,
  ClosedError,
  ConfigError,
  type DeadLetter,
} from '@celeriac/core';
import type { ConsumeOptions, Consumer, OutgoingMessage } from '@celeriac/core/adapter';
import { rabbitmqCapabilities } from './capabilities.js';
import { taskPublishSpec } from './codec.js';
import { ConnectionManager } from './connection.js';
import { RabbitMQConsumer } from './consumer.js';
import { readDeadLetters, redriveDeadLetters } from './dead-letters.js';
import { toCeleriacError } from './errors.js';
import {
  assertQueueName,
  DELAY_LEVELS,
  deadLetterQueueName,
  delayLevelName,
  normaliseDelay,
} from './names.js';
import { type RabbitMQBrokerOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { Publisher } from './publisher.js';
import type { Session } from './session.js';

/**
 * A RabbitMQ broker speaking AMQP 0-9-1 through amqplib, wire-compatible with Python Celery:
 * tasks are published to the default exchange with the queue name as routing key, queues are
 * declared as Celery declares them, and messages carry Celery's headers and properties.
 *
 * @remarks
 * One connection per instance, opened on first use and re-opened with backoff when it drops.
 * Publishes are confirmed; delays live in per-queue TTL queues (never in worker memory); dead
 * letters go to `<queue>.dlq` through the `celeriac.dlx` exchange, with their reason in headers.
 *
 * @example
 * ```ts
 * const broker = new RabbitMQBroker({ url: 'amqp://guest:guest@127.0.0.1:5672', maxPriority: 10 });
 * ```
 */
export class RabbitMQBroker implements Broker {
  readonly name = 'rabbitmq';
  readonly capabilities: BrokerCapabilities;
  private readonly options: ResolvedOptions;
  private readonly connection: ConnectionManager;
  private readonly publisher: Publisher;
  private readonly consumers = new Set<RabbitMQConsumer>();
  private closed = false;

  constructor(options: RabbitMQBrokerOptions = {}) {
    this.options = resolveOptions(options);
    this.capabilities = rabbitmqCapabilities(this.options);
    this.connection = new ConnectionManager(this.options);
    this.publisher = new Publisher(this.connection, this.options);
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError('rabbitmq broker');
  }

  private session(): Promise<Session> {
    this.assertOpen();
    return this.connection.whenConnected();
  }

  async publish(item: OutgoingMessage): Promise<void> {
    this.assertOpen();
    assertQueueName(item.queue);
    this.connection.start();
    await this.publisher.publish(
      taskPublishSpec(item.queue, item.message, normaliseDelay(item.delayMs), this.options.messageExpiration),
    );
  }

  /** Sends every message, then waits for all confirms (RabbitMQ acknowledges them in batches). */
  async publishMany(items: readonly OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    const specs = items.map((item) => {
      assertQueueName(item.queue);
      return taskPublishSpec(
        item.queue,
        item.message,
        normaliseDelay(item.delayMs),
        this.options.messageExpiration,
      );
    });
    this.connection.start();
    await this.publisher.publishAll(specs);
  }

  async consume(options: ConsumeOptions): Promise<Consumer> {
    this.assertOpen();
    if (options.queues.length === 0) throw new ConfigError('rabbitmq: consume needs at least one queue');
    for (const queue of options.queues) assertQueueName(queue);
    const consumer = new RabbitMQConsumer(
      {
        connection: this.connection,
        publisher: this.publisher,
        options: this.options,
        onClosed: (c) => this.consumers.delete(c),
      },
      options,
    );
    await consumer.start();
    this.consumers.add(consumer);
    return consumer;
  }

  /** Ready messages (`messageCount` of a passive declare); 0 for a queue that does not exist. */
  async depth(queue: string): Promise<number> {
    const session = await this.session();
    try {
      const info = await session.withTolerantChannel((step) => step((ch) => ch.checkQueue(queue)));
      return info?.messageCount ?? 0;
    } catch (error) {
      throw toCeleriacError(error, `reading the depth of "${queue}"`);
    }
  }

  /** Purges the queue and its delay chain; returns how many messages were removed. */
  async purge(queue: string): Promise<number> {
    const session = await this.session();
    try {
      return await session.withTolerantChannel(async (step) => {
        let removed = (await step((ch) => ch.purgeQueue(queue)))?.messageCount ?? 0;
        // No level 0 means this queue never had a delay chain.
        if (await step((ch) => ch.checkQueue(delayLevelName(queue, 0)))) {
          for (let level = 0; level < DELAY_LEVELS; level++) {
            removed += (await step((ch) => ch.purgeQueue(delayLevelName(queue, level))))?.messageCount ?? 0;
          }
        }
        return removed;
      });
    } catch (error) {
      throw toCeleriacError(error, `purging "${queue}"`);
    }
  }

  async readDeadLetters(queue: string, limit = 100): Promise<DeadLetter[]> {
    const session = await this.session();
    try {
      return await readDeadLetters(session, queue, Math.max(0, limit));
    } catch (error) {
      throw toCeleriacError(error, `reading the dead letters of "${queue}"`);
    }
  }

  async redriveDeadLetters(queue: string): Promise<number> {
    const session = await this.session();
    try {
      return await redriveDeadLetters(session, this.publisher, queue);
    } catch (error) {
      throw toCeleriacError(error, `redriving the dead letters of "${queue}"`);
    }
  }

  /**
   * Deletes a queue with everything this adapter declared for it: its exchange, its delay chain
   * and its dead-letter queue, messages included. For operations and tests; use with care.
   */
  async deleteQueue(queue: string): Promise<void> {
    assertQueueName(queue);
    const session = await this.session();
    await session.withTolerantChannel(async (step) => {
      await step((ch) => ch.deleteQueue(queue));
      await step((ch) => ch.deleteExchange(queue));
      await step((ch) => ch.deleteQueue(deadLetterQueueName(queue)));
      for (let level = 0; level < DELAY_LEVELS; level++) {
        await step((ch) => ch.deleteQueue(delayLevelName(queue, level)));
        await step((ch) => ch.deleteExchange(delayLevelName(queue, level)));
      }
    });
    for (const key of ['queue', 'dlq', 'delay']) session.forget(`${key}:${queue}`);
  }

  /**
   * Drops the connection abruptly, without cancelling consumers or returning their deliveries
   * (RabbitMQ does that when it notices the socket is gone), as a crashed process would. The
   * instance is unusable afterwards. Meant for crash-recovery tests.
   */
  destroy(): void {
    this.closed = true;
    this.connection.destroy();
  }

  /** Closes consumers (returning their unsettled deliveries), waits briefly for confirms, then disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.consumers].map((c) => c.close()));
    await this.publisher.close();
    await this.connection.close();
  }
}

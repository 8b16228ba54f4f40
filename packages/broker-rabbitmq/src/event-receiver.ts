import { randomUUID } from 'node:crypto';
import { EventListeners } from '@celeriac/core/adapter';
import type { CeleryEvent, EventReceiver, EventReceiverOptions } from '@celeriac/core/worker';
import type { Channel } from 'amqplib';
import { ConnectionManager } from './connection.js';
import { optionsFromUrl } from './create-broker.js';
import { resolveOptions } from './options.js';
import type { Session } from './session.js';
import { EVENT_EXCHANGE } from './topology.js';

/** Celery's event queue settings (`event_queue_ttl`, `event_queue_expires`): stale events are worthless. */
const QUEUE_ARGUMENTS = { 'x-message-ttl': 5_000, 'x-expires': 60_000 };

/**
 * Reads Celery events over AMQP as Celery's own receiver does: an exclusive, auto-deleted queue
 * bound to the `celeryev` topic exchange with `#`, consumed without acks. After a reconnect the
 * queue is declared and bound again; events published while the connection was down are lost, as
 * in Celery.
 */
export class RabbitMQEventReceiver implements EventReceiver {
  private readonly connection: ConnectionManager;
  private readonly listeners = new EventListeners(() => this.listen());
  private readonly onError: (error: unknown) => void;
  private channel: Channel | undefined;
  private firstBind: Promise<void> | undefined;
  private watching = false;
  private closed = false;

  constructor(url: string, options: EventReceiverOptions = {}) {
    this.connection = new ConnectionManager(resolveOptions(optionsFromUrl(url)));
    this.onError = options.onError ?? (() => {});
    this.connection.onDown((error) => this.onError(error));
  }

  /** Declares the event queue on a session's fresh channel and starts consuming it. */
  private async bind(session: Session): Promise<void> {
    const channel = await session.model.createChannel();
    channel.on('error', (error: unknown) => this.onError(error));
    await channel.assertExchange(EVENT_EXCHANGE, 'topic', { durable: true });
    const { queue } = await channel.assertQueue(`celeryev.${randomUUID()}`, {
      exclusive: true,
      autoDelete: true,
      durable: false,
      arguments: QUEUE_ARGUMENTS,
    });
    await channel.bindQueue(queue, EVENT_EXCHANGE, '#');
    await channel.consume(queue, (msg) => msg && this.listeners.deliverJson(msg.content.toString('utf8')), {
      noAck: true,
    });
    this.channel = channel;
  }

  private async listen(): Promise<void> {
    // Every session gets its own queue, the first one and each after a reconnect.
    if (!this.watching) {
      this.watching = true;
      this.connection.onUp((session) => {
        if (this.closed) return;
        const bound = this.bind(session);
        this.firstBind ??= bound;
        bound.catch((error: unknown) => this.onError(error));
      });
    }
    try {
      const session = await this.connection.whenConnected();
      await (this.firstBind ?? this.bind(session));
    } catch (error) {
      this.firstBind = undefined;
      throw error;
    }
  }

  subscribe(listener: (event: CeleryEvent) => void): Promise<() => void> {
    return this.listeners.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await this.channel?.close().catch(() => {});
    await this.connection.close();
  }
}

/** A Celery event receiver for an `amqp://` or `amqps://` broker URL. */
export function createEventReceiver(url: string, options?: EventReceiverOptions): EventReceiver {
  return new RabbitMQEventReceiver(url, options);
}

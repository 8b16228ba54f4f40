import { ClosedError } from '@celeriac/core';
import type { CeleryEvent, EventTransport } from '@celeriac/core/worker';
import { ConnectionManager } from './connection.js';
import { optionsFromUrl } from './create-broker.js';
import { resolveOptions } from './options.js';
import { Publisher } from './publisher.js';
import { EVENT_EXCHANGE } from './topology.js';

/**
 * Celery events over AMQP, as Celery's event dispatcher sends them: JSON to the `celeryev` topic
 * exchange under the event's routing key (`worker.heartbeat`, `task.multi`, …), transient
 * (`delivery_mode` 1), with a `hostname` header. Flower and `celery events` bind their own queues to
 * that exchange, so they see Celeriac workers next to Python ones. Events are best-effort: with no
 * monitor bound they go nowhere, as in Celery.
 */
export class RabbitMQEventTransport implements EventTransport {
  private readonly connection: ConnectionManager;
  private readonly publisher: Publisher;
  private closed = false;

  constructor(url: string) {
    // Events are not worth a confirm round trip or a long wait: a heartbeat is soon stale.
    const options = resolveOptions({
      ...optionsFromUrl(url),
      confirm: false,
      publishTimeoutMs: 5_000,
      maxBufferedPublishes: 1_000,
    });
    this.connection = new ConnectionManager(options);
    this.publisher = new Publisher(this.connection, options);
  }

  async publishEvent(routingKey: string, body: CeleryEvent | CeleryEvent[], hostname: string): Promise<void> {
    if (this.closed) throw new ClosedError('rabbitmq event transport');
    this.connection.start();
    await this.publisher.publish({
      exchange: EVENT_EXCHANGE,
      routingKey,
      content: Buffer.from(JSON.stringify(body), 'utf8'),
      options: {
        headers: { hostname },
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        deliveryMode: 1,
      },
      needs: { kind: 'events' },
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.publisher.close(1_000);
    await this.connection.close();
  }
}

/** The factory the worker CLI uses for `--events` on an `amqp://` or `amqps://` broker URL. */
export function createEventTransport(url: string): EventTransport {
  return new RabbitMQEventTransport(url);
}

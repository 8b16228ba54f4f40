import { EventListeners } from '@celeriac/core/adapter';
import type { CeleryEvent, EventReceiver, EventReceiverOptions } from '@celeriac/core/worker';
import { eventsOf } from '@celeriac/core/worker';
import { connectClient, createClient, type RedisClient } from './connection.js';
import { parseRedisUrl } from './url.js';

/** Decodes one kombu event envelope (base64 or plain JSON body) into its events; garbage yields none. */
export function decodeEventEnvelope(text: string): CeleryEvent[] {
  try {
    const envelope = JSON.parse(text) as {
      body?: unknown;
      properties?: { body_encoding?: unknown };
    };
    if (typeof envelope.body !== 'string') return [];
    const body =
      envelope.properties?.body_encoding === 'base64'
        ? Buffer.from(envelope.body, 'base64').toString('utf8')
        : envelope.body;
    return eventsOf(JSON.parse(body));
  } catch {
    return [];
  }
}

/**
 * Reads Celery events over Redis as Celery's own receiver does: `PSUBSCRIBE /<db>.celeryev/*`
 * (kombu's fanout prefix), decoding the kombu envelope of every message, so events of Celeriac and
 * Python workers alike reach the listeners. The subscriber connection reconnects and resubscribes
 * on its own (ioredis); events published while it is down are lost, as in Celery.
 */
export class RedisEventReceiver implements EventReceiver {
  private readonly client: RedisClient;
  private readonly display: string;
  private readonly pattern: string;
  private readonly listeners = new EventListeners(async () => {
    await connectClient(this.client, this.display);
    await this.client.psubscribe(this.pattern);
  });

  constructor(url: string, options: EventReceiverOptions = {}) {
    const parsed = parseRedisUrl(url);
    this.display = parsed.display;
    // A subscriber must survive outages: it waits for the server rather than failing commands.
    this.client = createClient({ target: parsed.target }, 'events-receiver', true);
    this.client.on('error', (error: unknown) => options.onError?.(error));
    const db = parsed.target.kind === 'cluster' ? 0 : (parsed.target.options.db ?? 0);
    this.pattern = `/${db}.celeryev/*`;
    this.client.on('pmessage', (_pattern: string, _channel: string, message: string) =>
      this.listeners.deliver(decodeEventEnvelope(message)),
    );
  }

  subscribe(listener: (event: CeleryEvent) => void): Promise<() => void> {
    return this.listeners.subscribe(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    if (this.listeners.started) await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }
}

/** A Celery event receiver for a Redis broker URL (what the dashboard and `celeriac events` read). */
export function createEventReceiver(url: string, options?: EventReceiverOptions): EventReceiver {
  return new RedisEventReceiver(url, options);
}

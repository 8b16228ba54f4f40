import { randomUUID } from 'node:crypto';
import type { CeleryEvent, EventTransport } from '@celeriac/core/worker';
import { type ClientSettings, connectClient, createClient, type RedisClient } from './connection.js';
import { toCeleriacError } from './errors.js';
import { parseRedisUrl } from './url.js';

/**
 * Celery events over Redis, as kombu sends them: `PUBLISH /<db>.celeryev/<routing.key>` with the
 * same JSON envelope as tasks (`delivery_mode: 1`, `headers: {hostname}`, exchange `celeryev`), so
 * Flower and `celery events` see Celeriac workers next to Python ones.
 */
export class RedisEventTransport implements EventTransport {
  private readonly client: RedisClient;
  private readonly display: string;
  private readonly prefix: string;
  private ready: Promise<void> | undefined;

  constructor(url: string) {
    const parsed = parseRedisUrl(url);
    const settings: ClientSettings = { target: parsed.target };
    this.display = parsed.display;
    this.client = createClient(settings, 'events');
    this.client.on('error', () => {});
    const db = parsed.target.kind === 'cluster' ? 0 : (parsed.target.options.db ?? 0);
    // kombu's fanout prefix, formatted with the database number.
    this.prefix = `/${db}.celeryev/`;
  }

  async publishEvent(routingKey: string, body: CeleryEvent | CeleryEvent[], hostname: string): Promise<void> {
    this.ready ??= connectClient(this.client, this.display).catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    await this.ready;
    const envelope = {
      body: Buffer.from(JSON.stringify(body), 'utf8').toString('base64'),
      'content-encoding': 'utf-8',
      'content-type': 'application/json',
      headers: { hostname },
      properties: {
        delivery_mode: 1,
        delivery_info: { exchange: 'celeryev', routing_key: routingKey },
        priority: 0,
        body_encoding: 'base64',
        delivery_tag: randomUUID(),
      },
    };
    try {
      await this.client.publish(`${this.prefix}${routingKey}`, JSON.stringify(envelope));
    } catch (error) {
      throw toCeleriacError(error, 'publishing a Celery event', this.display);
    }
  }

  async close(): Promise<void> {
    if (this.ready) await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }
}

/** The factory the worker CLI uses for `--events` on a Redis broker URL. */
export function createEventTransport(url: string): EventTransport {
  return new RedisEventTransport(url);
}

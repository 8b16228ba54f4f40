import { ClosedError } from '@celeriac/core';
import type { CeleryEvent, EventTransport } from '@celeriac/core/worker';
import { toCeleriacError } from './errors.js';
import { type ResolvedKafkaOptions, resolveOptions } from './options.js';
import { KafkajsTransport } from './transport/kafkajs-transport.js';
import type { KafkaTransport, ProduceRecord, TopicSpec } from './transport/types.js';
import { parseKafkaUrl } from './url.js';

/** The topic Celery events travel on, named after Celery's event exchange. */
export const EVENT_TOPIC = 'celeryev';

/** Record headers of an event: who sent it and Celery's routing key (`worker.heartbeat`, …). */
export const EVENT_HOSTNAME_HEADER = 'hostname';
export const EVENT_ROUTING_KEY_HEADER = 'routing_key';

/**
 * The event topic: short-lived (events are soon stale, and a receiver reads only what is published
 * after it subscribes), with small segments so old records are actually dropped.
 */
export function eventTopicSpec(options: ResolvedKafkaOptions): TopicSpec {
  return {
    topic: EVENT_TOPIC,
    partitions: options.partitions,
    replicationFactor: options.replicationFactor,
    config: { 'retention.ms': '300000', 'segment.ms': '60000' },
  };
}

/** The kafkajs transport for a `kafka://` URL's options (TLS and SASL included). */
export function eventClient(options: ResolvedKafkaOptions, role: string): KafkaTransport {
  return new KafkajsTransport({
    brokers: options.brokers,
    clientId: `${options.clientId}-${role}`,
    logLevel: options.logLevel,
    readerGroupPrefix: `${options.groupPrefix}~reader.`,
    ...(options.ssl ? { ssl: options.ssl } : {}),
    ...(options.sasl ? { sasl: options.sasl } : {}),
  });
}

/**
 * Celery events over Kafka: one record per event (or `task.multi` batch) on the `celeryev` topic,
 * the JSON body as value, keyed by hostname so one worker's events stay in order, with `hostname`
 * and `routing_key` headers. Python Celery has no event transport over Kafka, so the readers are
 * Celeriac's own (`createEventReceiver`: the dashboard, `celeriac events`).
 */
export class KafkaEventTransport implements EventTransport {
  private readonly options: ResolvedKafkaOptions;
  private readonly transport: KafkaTransport;
  private ready: Promise<void> | undefined;
  private closed = false;

  constructor(url: string) {
    this.options = resolveOptions(parseKafkaUrl(url));
    this.transport = eventClient(this.options, 'events');
  }

  /** Records waiting for the produce in flight to finish, each with its caller's promise. */
  private waiting: { record: ProduceRecord; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private producing = false;

  publishEvent(routingKey: string, body: CeleryEvent | CeleryEvent[], hostname: string): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('kafka event transport'));
    const record: ProduceRecord = {
      topic: EVENT_TOPIC,
      key: hostname,
      value: JSON.stringify(body),
      headers: { [EVENT_HOSTNAME_HEADER]: hostname, [EVENT_ROUTING_KEY_HEADER]: routingKey },
    };
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ record, resolve, reject });
      if (!this.producing) void this.drain();
    });
  }

  /**
   * One produce in flight at a time, carrying everything published meanwhile: concurrent produce
   * requests may reach the partition out of order, and a reader must see `task-received` before
   * `task-started`.
   */
  private async drain(): Promise<void> {
    this.producing = true;
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0);
      try {
        this.ready ??= this.transport.ensureTopics([eventTopicSpec(this.options)]).catch((error: unknown) => {
          this.ready = undefined;
          throw error;
        });
        await this.ready;
        await this.transport.produce(batch.map((b) => b.record));
        for (const b of batch) b.resolve();
      } catch (error) {
        const failure = toCeleriacError(error, 'publishing a Celery event');
        for (const b of batch) b.reject(failure);
      }
    }
    this.producing = false;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.transport.close();
  }
}

/** The factory the worker CLI uses for `--events` on a `kafka://` broker URL. */
export function createEventTransport(url: string): EventTransport {
  return new KafkaEventTransport(url);
}

import { ClosedError } from '@celeriac/core';
import type { CeleryEvent, EventTransport } from '@celeriac/core/worker';
import { toCeleriacError } from './errors.js';
import { type ResolvedKafkaOptions, resolveOptions } from './options.js';
import { KafkajsTransport } from './transport/kafkajs-transport.js';
import type { KafkaTransport, TopicSpec } from './transport/types.js';
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

  async publishEvent(routingKey: string, body: CeleryEvent | CeleryEvent[], hostname: string): Promise<void> {
    if (this.closed) throw new ClosedError('kafka event transport');
    this.ready ??= this.transport.ensureTopics([eventTopicSpec(this.options)]).catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    try {
      await this.ready;
      await this.transport.produce([
        {
          topic: EVENT_TOPIC,
          key: hostname,
          value: JSON.stringify(body),
          headers: { [EVENT_HOSTNAME_HEADER]: hostname, [EVENT_ROUTING_KEY_HEADER]: routingKey },
        },
      ]);
    } catch (error) {
      throw toCeleriacError(error, 'publishing a Celery event');
    }
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

import { randomUUID } from 'node:crypto';
import { EventListeners } from '@celeriac/core/adapter';
import type { CeleryEvent, EventReceiver, EventReceiverOptions } from '@celeriac/core/worker';
import { toCeleriacError } from './errors.js';
import { EVENT_TOPIC, eventClient, eventTopicSpec } from './event-transport.js';
import { type ResolvedKafkaOptions, resolveOptions } from './options.js';
import type {
  GroupConsumer,
  GroupHandlers,
  KafkaTransport,
  RecordBatch,
  TopicPartition,
} from './transport/types.js';
import { parseKafkaUrl } from './url.js';

/**
 * Reads Celery events from the `celeryev` topic. Every receiver is a group of its own (fan-out,
 * as a monitor's queue on AMQP), never commits, and starts at the end of the topic as it was when
 * `subscribe` was called: a monitor sees what is published while it listens, nothing older.
 */
export class KafkaEventReceiver implements EventReceiver {
  private readonly options: ResolvedKafkaOptions;
  private readonly transport: KafkaTransport;
  private readonly listeners = new EventListeners(() => this.start());
  private readonly onError: (error: unknown) => void;
  /** Per partition, the first offset that is new to this receiver. */
  private readonly from = new Map<number, number>();
  private group: GroupConsumer | undefined;

  constructor(url: string, options: EventReceiverOptions = {}) {
    this.options = resolveOptions(parseKafkaUrl(url));
    this.transport = eventClient(this.options, 'events-receiver');
    this.onError = options.onError ?? (() => {});
  }

  private emit(batch: RecordBatch): number {
    const from = this.from.get(batch.partition) ?? 0;
    for (const record of batch.records) {
      if (record.offset >= from && record.value) this.listeners.deliverJson(record.value.toString('utf8'));
    }
    return batch.records.length;
  }

  private async start(): Promise<void> {
    try {
      await this.transport.ensureTopics([eventTopicSpec(this.options)]);
      // A new group starts at the beginning of the topic; what was there before now is skipped.
      for (const mark of await this.transport.watermarks(EVENT_TOPIC))
        this.from.set(mark.partition, mark.high);
      const handlers: GroupHandlers = {
        onRecords: async (batch) => this.emit(batch),
        onAssigned: (_partitions: readonly TopicPartition[]) => {},
        onRevoking: async () => {},
        onLost: () => {},
        onError: (error) => this.onError(error),
      };
      this.group = this.transport.createGroupConsumer({
        groupId: `${this.options.groupPrefix}~events.${randomUUID()}`,
        topics: [EVENT_TOPIC],
        sessionTimeoutMs: this.options.sessionTimeoutMs,
        heartbeatIntervalMs: this.options.heartbeatIntervalMs,
        rebalanceTimeoutMs: this.options.sessionTimeoutMs,
        fetchMaxWaitMs: this.options.fetchMaxWaitMs,
        handlers,
      });
      await this.group.start();
    } catch (error) {
      const group = this.group;
      this.group = undefined;
      void group?.close().catch(() => {});
      throw toCeleriacError(error, 'subscribing to Celery events');
    }
  }

  subscribe(listener: (event: CeleryEvent) => void): Promise<() => void> {
    return this.listeners.subscribe(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.group?.close().catch(() => {});
    await this.transport.close();
  }
}

/** A Celery event receiver for a `kafka://` broker URL. */
export function createEventReceiver(url: string, options?: EventReceiverOptions): EventReceiver {
  return new KafkaEventReceiver(url, options);
}

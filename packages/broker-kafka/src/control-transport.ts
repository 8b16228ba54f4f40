import { randomUUID } from 'node:crypto';
import { ClosedError } from '@celeriac/core';
import {
  type CollectOptions,
  type ControlBrokerInfo,
  type ControlMessage,
  type ControlReply,
  type ControlReplyHeaders,
  type ControlReplyTo,
  type ControlRequest,
  type ControlRequestHeaders,
  type ControlTransport,
  DEFAULT_CONTROL_NAMESPACE,
  type MailboxNames,
  mailboxNames,
  parseControlRequest,
  type ReplyCollection,
  ReplyCollectors,
  type StopListening,
} from '@celeriac/core/adapter';
import { toCeleriacError } from './errors.js';
import { type ResolvedKafkaOptions, resolveOptions } from './options.js';
import { KafkajsTransport } from './transport/kafkajs-transport.js';
import type { GroupConsumer, KafkaTransport, TopicSpec, TransportRecord } from './transport/types.js';
import { parseKafkaUrl } from './url.js';

/** Options for {@link KafkaControlTransport}. */
export interface KafkaControlOptions {
  /** Celery's `control_exchange`, which names the topics. @default 'celery' */
  readonly namespace?: string;
}

/** Single-partition topics: every reader reads everything, in order. Stale within minutes. */
function topicSpec(topic: string, options: ResolvedKafkaOptions): TopicSpec {
  return {
    topic,
    partitions: 1,
    replicationFactor: options.replicationFactor,
    config: { 'retention.ms': '300000', 'segment.ms': '60000' },
  };
}

function json(record: TransportRecord): unknown {
  try {
    return record.value ? (JSON.parse(record.value.toString('utf8')) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Celery's remote control carried over Kafka, which Celery itself has no control for: the same
 * commands and replies as on Redis and RabbitMQ, on two single-partition topics of Celeriac's own,
 * `celeriac.<namespace>.pidbox` (commands) and `celeriac.reply.<namespace>.pidbox` (replies, keyed
 * by the caller's oid). Every reader is a consumer group of its own that skips what the topic held
 * when it started, so the TypeScript client and CLI work on Kafka too. Python tools do not speak it.
 */
export class KafkaControlTransport implements ControlTransport {
  readonly broker: ControlBrokerInfo;
  private readonly options: ResolvedKafkaOptions;
  private readonly names: MailboxNames;
  private readonly transport: KafkaTransport;
  private readonly commandTopic: string;
  private readonly replyTopic: string;
  private readonly oid = randomUUID();
  private readonly collectors = new ReplyCollectors();
  private readonly groups = new Set<GroupConsumer>();
  private topics: Promise<void> | undefined;
  private replies: Promise<void> | undefined;
  private closed = false;

  constructor(url: string, options: KafkaControlOptions = {}) {
    this.options = resolveOptions(parseKafkaUrl(url));
    const [host, port] = (this.options.brokers[0] ?? '127.0.0.1:9092').split(':');
    this.broker = {
      transport: 'kafka',
      hostname: host ?? '127.0.0.1',
      port: Number(port) || 9092,
      virtual_host: null,
      userid: this.options.sasl?.username ?? null,
      ssl: this.options.ssl !== undefined,
    };
    this.names = mailboxNames(options.namespace ?? DEFAULT_CONTROL_NAMESPACE);
    this.commandTopic = `celeriac.${this.names.exchange}`;
    this.replyTopic = `celeriac.${this.names.replyExchange}`;
    this.transport = new KafkajsTransport({
      brokers: this.options.brokers,
      clientId: `${this.options.clientId}-control`,
      logLevel: this.options.logLevel,
      readerGroupPrefix: `${this.options.groupPrefix}~reader.`,
      ...(this.options.ssl ? { ssl: this.options.ssl } : {}),
      ...(this.options.sasl ? { sasl: this.options.sasl } : {}),
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError('kafka control transport');
  }

  private ensureTopics(): Promise<void> {
    this.topics ??= this.transport.ensureTopics([
      topicSpec(this.commandTopic, this.options),
      topicSpec(this.replyTopic, this.options),
    ]);
    this.topics.catch(() => (this.topics = undefined));
    return this.topics;
  }

  /**
   * Reads `topic` from its end as of now, in a group of its own that never commits. Resolves once
   * the member has its partition: nothing produced after the call is missed.
   */
  private async read(topic: string, onRecord: (record: TransportRecord) => void): Promise<GroupConsumer> {
    await this.ensureTopics();
    const from = new Map((await this.transport.watermarks(topic)).map((m) => [m.partition, m.high]));
    const group = this.transport.createGroupConsumer({
      groupId: `${this.options.groupPrefix}~control.${randomUUID()}`,
      topics: [topic],
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      rebalanceTimeoutMs: this.options.sessionTimeoutMs,
      fetchMaxWaitMs: Math.min(this.options.fetchMaxWaitMs, 100),
      handlers: {
        onRecords: async (batch) => {
          const start = from.get(batch.partition) ?? 0;
          for (const record of batch.records) if (record.offset >= start) onRecord(record);
          return batch.records.length;
        },
        onAssigned: () => {},
        onRevoking: async () => {},
        onLost: () => {},
        onError: () => {},
      },
    });
    this.groups.add(group);
    try {
      await group.start();
    } catch (error) {
      this.groups.delete(group);
      await group.close().catch(() => {});
      throw error;
    }
    return group;
  }

  async listen(_hostname: string, onMessage: (message: ControlMessage) => void): Promise<StopListening> {
    this.assertOpen();
    let group: GroupConsumer;
    try {
      group = await this.read(this.commandTopic, (record) => {
        const request = parseControlRequest(json(record));
        if (!request) return;
        const h = record.headers;
        onMessage({ request, headers: { clock: Number(h.clock) || 0, expires: Number(h.expires) || 0 } });
      });
    } catch (error) {
      throw toCeleriacError(error, 'listening for control commands');
    }
    return async () => {
      this.groups.delete(group);
      await group.close().catch(() => {});
    };
  }

  async reply(to: ControlReplyTo, body: ControlReply, headers: ControlReplyHeaders): Promise<void> {
    this.assertOpen();
    try {
      await this.ensureTopics();
      await this.transport.produce([
        {
          topic: this.replyTopic,
          key: to.routing_key,
          value: JSON.stringify(body),
          headers: { ticket: headers.ticket, clock: String(headers.clock), routing_key: to.routing_key },
        },
      ]);
    } catch (error) {
      throw toCeleriacError(error, 'sending a control reply');
    }
  }

  replyTo(): ControlReplyTo {
    return { exchange: this.names.replyExchange, routing_key: this.oid };
  }

  private ensureReplies(): Promise<void> {
    this.replies ??= this.read(this.replyTopic, (record) => {
      const h = record.headers;
      if (h.routing_key !== this.oid) return;
      const body = json(record);
      if (typeof body !== 'object' || body === null) return;
      this.collectors.deliver(h.ticket, body as ControlReply);
    }).then(() => undefined);
    this.replies.catch(() => (this.replies = undefined));
    return this.replies;
  }

  async publish(
    request: ControlRequest,
    headers: ControlRequestHeaders,
    collect?: CollectOptions,
  ): Promise<ControlReply[]> {
    this.assertOpen();
    let collection: ReplyCollection | undefined;
    try {
      if (collect) {
        await this.ensureReplies();
        collection = this.collectors.start(collect);
      } else await this.ensureTopics();
      await this.transport.produce([
        {
          topic: this.commandTopic,
          key: null,
          value: JSON.stringify(request),
          headers: { clock: String(headers.clock), expires: String(headers.expires) },
        },
      ]);
    } catch (error) {
      collection?.cancel();
      throw toCeleriacError(error, 'publishing a control command');
    }
    return collection ? collection.finished : [];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.collectors.closeAll();
    await Promise.allSettled([...this.groups].map((g) => g.close()));
    this.groups.clear();
    await this.transport.close();
  }
}

/** The factory the CLIs and apps use for remote control on a `kafka://` URL. */
export function createControlTransport(url: string, options?: KafkaControlOptions): ControlTransport {
  return new KafkaControlTransport(url, options);
}

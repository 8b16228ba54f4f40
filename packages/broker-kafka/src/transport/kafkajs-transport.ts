import { randomUUID } from 'node:crypto';
import { ConfigError } from '@celeriac/core';
import { type Admin, Kafka, logLevel, Partitioners, type Producer, type SASLOptions } from 'kafkajs';
import type { KafkaSaslOptions, KafkaTlsOptions } from '../options.js';
import { KafkajsGroupConsumer, toRecord } from './kafkajs-group-consumer.js';
import { kafkajsLogCreator } from './kafkajs-logger.js';
import type {
  CommittedOffset,
  GroupConsumer,
  GroupConsumerOptions,
  GroupDescription,
  KafkaTransport,
  PartitionWatermarks,
  ProduceRecord,
  TopicSpec,
  TransportRecord,
} from './types.js';

/** Log levels kafkajs can be set to. */
export type KafkajsLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

/** Options of {@link KafkajsTransport}. */
export interface KafkajsTransportOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logLevel: KafkajsLogLevel;
  /** Prefix of the throwaway groups {@link KafkajsTransport.readAll} uses. */
  readonly readerGroupPrefix: string;
  readonly connectionTimeoutMs?: number;
  /** TLS towards the brokers (certificates always verified). */
  readonly ssl?: KafkaTlsOptions;
  readonly sasl?: KafkaSaslOptions;
}

const LEVELS: Record<KafkajsLogLevel, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Node's codes for a broker certificate that does not verify. */
const TLS_VERIFY_CODES =
  /^(?:SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(?:_LOCALLY)?|CERT_HAS_EXPIRED|CERT_UNTRUSTED|ERR_TLS_CERT_ALTNAME_INVALID)$/;

/** The error and its causes (kafkajs keeps the last attempt's error as `originalError`). */
function* causes(error: unknown): Generator<{ name?: unknown; code?: unknown }> {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 8; depth++) {
    yield e as { name?: unknown; code?: unknown };
    const next = e as { originalError?: unknown; cause?: unknown };
    e = next.originalError ?? next.cause;
  }
}

/**
 * Rejected credentials or an untrusted certificate are configuration to fix, not outages to
 * retry: a {@link ConfigError} naming the user and mechanism, never the password.
 */
function securityError(error: unknown, options: KafkajsTransportOptions): unknown {
  for (const e of causes(error)) {
    if (e.name === 'KafkaJSSASLAuthenticationError' && options.sasl) {
      const { username, mechanism } = options.sasl;
      return new ConfigError(`kafka SASL ${mechanism} authentication failed for user ${username}`, {
        cause: error,
      });
    }
    if (typeof e.code === 'string' && TLS_VERIFY_CODES.test(e.code)) {
      return new ConfigError(`kafka TLS: the broker's certificate is not trusted (${e.code})`, {
        cause: error,
      });
    }
  }
  return error;
}

/** kafkajs's SASL settings; the password is read from the (non-enumerable) option at the last moment. */
function saslFor(sasl: KafkaSaslOptions | undefined): SASLOptions | undefined {
  if (!sasl) return undefined;
  return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as SASLOptions;
}

/** The {@link KafkaTransport} on kafkajs 2.2.4 (pure JavaScript, classic consumer groups). */
export class KafkajsTransport implements KafkaTransport {
  private readonly kafka: Kafka;
  private producer: Promise<Producer> | undefined;
  private admin: Promise<Admin> | undefined;
  private readonly consumers = new Set<GroupConsumer>();

  constructor(private readonly options: KafkajsTransportOptions) {
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      logLevel: LEVELS[options.logLevel],
      logCreator: kafkajsLogCreator,
      connectionTimeout: options.connectionTimeoutMs ?? 3000,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5000 },
      ...(options.ssl ? { ssl: options.ssl.ca ? { ca: [...options.ssl.ca] } : true } : {}),
      ...(options.sasl ? { sasl: saslFor(options.sasl) } : {}),
    });
  }

  private getProducer(): Promise<Producer> {
    this.producer ??= (async () => {
      const producer = this.kafka.producer({
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: false,
      });
      await producer.connect().catch((error: unknown) => {
        throw securityError(error, this.options);
      });
      return producer;
    })();
    this.producer.catch(() => {
      this.producer = undefined;
    });
    return this.producer;
  }

  private getAdmin(): Promise<Admin> {
    this.admin ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect().catch((error: unknown) => {
        throw securityError(error, this.options);
      });
      return admin;
    })();
    this.admin.catch(() => {
      this.admin = undefined;
    });
    return this.admin;
  }

  async connect(topics: readonly string[]): Promise<void> {
    const producer = await this.getProducer();
    // An empty batch loads the topics' metadata and sends nothing.
    if (topics.length)
      await producer.sendBatch({ topicMessages: topics.map((topic) => ({ topic, messages: [] })) });
  }

  async produce(records: readonly ProduceRecord[]): Promise<void> {
    if (records.length === 0) return;
    const byTopic = new Map<
      string,
      {
        key: string | null;
        value: string | Buffer | null;
        headers: Record<string, string>;
        partition?: number;
      }[]
    >();
    for (const r of records) {
      const list = byTopic.get(r.topic) ?? [];
      const message = { key: r.key, value: r.value, headers: { ...r.headers } };
      list.push(r.partition === undefined ? message : { ...message, partition: r.partition });
      byTopic.set(r.topic, list);
    }
    const producer = await this.getProducer();
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  }

  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    const admin = await this.getAdmin();
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return;
    // kafkajs's own wait gives up on UNKNOWN_TOPIC_OR_PARTITION right after creation; ours below does not.
    await admin.createTopics({
      waitForLeaders: false,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: s.replicationFactor,
        configEntries: Object.entries(s.config).map(([name, value]) => ({ name, value })),
      })),
    });
    // Wait until every new partition serves requests (leaders are announced a moment before they
    // do), including topics another instance created at the same moment.
    const names = missing.map((s) => s.topic);
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: names });
        if (topics.length === names.length && topics.every((t) => t.partitions.every((p) => p.leader >= 0))) {
          await Promise.all(names.map((t) => admin.fetchTopicOffsets(t)));
          return;
        }
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) throw new Error(`topics without leaders after 15 s: ${names.join(', ')}`);
      await sleep(50);
    }
  }

  async watermarks(topic: string): Promise<PartitionWatermarks[]> {
    const admin = await this.getAdmin();
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }));
  }

  async committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]> {
    const admin = await this.getAdmin();
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (entry?.partitions ?? []).map((p) => {
      const offset = Number(p.offset);
      return { partition: p.partition, offset: offset >= 0 ? offset : null, metadata: p.metadata ?? null };
    });
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    const admin = await this.getAdmin();
    const { groups } = await admin.describeGroups([groupId]);
    const group = groups.find((g) => g.groupId === groupId);
    return { state: group?.state ?? 'Dead', members: group?.members.length ?? 0 };
  }

  async deleteRecords(
    topic: string,
    before: readonly { partition: number; offset: number }[],
  ): Promise<void> {
    if (before.length === 0) return;
    const admin = await this.getAdmin();
    await admin.deleteTopicRecords({
      topic,
      partitions: before.map((b) => ({ partition: b.partition, offset: String(b.offset) })),
    });
  }

  /**
   * kafkajs can only fetch as a group member, so this joins a throwaway group (no commits) and
   * deletes it afterwards.
   */
  async readAll(topic: string, limitPerPartition: number): Promise<TransportRecord[]> {
    const marks = await this.watermarks(topic);
    const ends = new Map(marks.filter((m) => m.high > m.low).map((m) => [m.partition, m.high]));
    if (ends.size === 0 || limitPerPartition <= 0) return [];
    const groupId = `${this.options.readerGroupPrefix}${randomUUID()}`;
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
    const read = new Map<number, TransportRecord[]>();
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`reading ${topic} took longer than 30 s`)), 30_000);
        const done = new Set<number>();
        const finish = (partition: number) => {
          done.add(partition);
          if (done.size >= ends.size) {
            clearTimeout(timer);
            resolve();
          }
        };
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const end = ends.get(batch.partition);
              if (end === undefined || done.has(batch.partition)) return;
              const list = read.get(batch.partition) ?? [];
              read.set(batch.partition, list);
              for (const m of batch.messages) {
                const record = toRecord(batch.topic, batch.partition, m);
                if (record.offset >= end || list.length >= limitPerPartition) break;
                list.push(record);
              }
              const last = list.at(-1);
              if (
                list.length >= limitPerPartition ||
                (last && last.offset >= end - 1) ||
                Number(batch.lastOffset()) >= end - 1
              ) {
                finish(batch.partition);
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect().catch(() => undefined);
      const admin = await this.getAdmin().catch(() => undefined);
      await admin?.deleteGroups([groupId]).catch(() => undefined);
    }
    return [...read.values()].flat();
  }

  createGroupConsumer(options: GroupConsumerOptions): GroupConsumer {
    const consumer = new KafkajsGroupConsumer(this.kafka, options, () => this.consumers.delete(consumer));
    this.consumers.add(consumer);
    return consumer;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.consumers].map((c) => c.close()));
    const [producer, admin] = [this.producer, this.admin];
    this.producer = undefined;
    this.admin = undefined;
    await Promise.allSettled([producer?.then((p) => p.disconnect()), admin?.then((a) => a.disconnect())]);
  }
}

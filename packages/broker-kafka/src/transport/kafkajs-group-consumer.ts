import type { EachBatchPayload, Kafka, Consumer as KafkajsConsumer, KafkaMessage } from 'kafkajs';
import { registerRejoinBarrier } from './kafkajs-rejoin-barrier.js';
import type {
  GroupConsumer,
  GroupConsumerOptions,
  OffsetCommit,
  TopicPartition,
  TransportRecord,
} from './types.js';

/** Heartbeat errors after which kafkajs rejoins the group. */
const REBALANCE_ERRORS = new Set([
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'ILLEGAL_GENERATION',
]);

type HeaderValue = NonNullable<KafkaMessage['headers']>[string];

/** One Kafka header value as kafkajs hands it over, decoded to a string (a repeated key: its first). */
function headerText(value: HeaderValue): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return undefined;
  return typeof first === 'string' ? first : first.toString('utf8');
}

/** Kafka header values as kafkajs hands them over, decoded to strings. */
export function decodeHeaders(headers: KafkaMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const key in headers) {
    const text = headerText(headers[key]);
    if (text !== undefined) out[key] = text;
  }
  return out;
}

/**
 * A kafkajs message as a transport record. The key, headers and timestamp are decoded on first
 * use: the hot path reads only the headers and value, and some records are never handed out.
 */
class KafkajsRecord implements TransportRecord {
  readonly offset: number;
  private decodedKey: string | null | undefined;
  private decodedHeaders: Record<string, string> | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly message: KafkaMessage,
  ) {
    this.offset = Number(message.offset);
  }

  get value(): Buffer | null {
    return this.message.value;
  }

  get key(): string | null {
    if (this.decodedKey === undefined) {
      const key = this.message.key;
      this.decodedKey = key ? key.toString('utf8') : null;
    }
    return this.decodedKey;
  }

  get headers(): Readonly<Record<string, string>> {
    this.decodedHeaders ??= decodeHeaders(this.message.headers);
    return this.decodedHeaders;
  }

  header(name: string): string | undefined {
    if (this.decodedHeaders) return this.decodedHeaders[name];
    // Walking kafkajs's header object for every record costs more than reading the one header needed.
    const headers = this.message.headers;
    return headers && Object.hasOwn(headers, name) ? headerText(headers[name]) : undefined;
  }

  get timestamp(): number {
    return Number(this.message.timestamp);
  }
}

/** A kafkajs message as a transport record. */
export function toRecord(topic: string, partition: number, message: KafkaMessage): TransportRecord {
  return new KafkajsRecord(topic, partition, message);
}

function byTopic(partitions: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const map = new Map<string, number[]>();
  for (const tp of partitions) {
    const list = map.get(tp.topic) ?? [];
    list.push(tp.partition);
    map.set(tp.topic, list);
  }
  return [...map].map(([topic, list]) => ({ topic, partitions: list }));
}

function flatten(assignment: Record<string, number[]>): TopicPartition[] {
  return Object.entries(assignment).flatMap(([topic, partitions]) =>
    partitions.map((partition) => ({ topic, partition })),
  );
}

/**
 * A consumer-group member on kafkajs: `eachBatch` without auto-resolve or auto-commit, so the
 * adapter decides which records it took and what is committed.
 */
export class KafkajsGroupConsumer implements GroupConsumer {
  private readonly consumer: KafkajsConsumer;
  private memberId: string | null = null;
  private assigned: TopicPartition[] = [];
  private unregisterBarrier: () => void = () => undefined;
  private closed = false;
  private rejoining = false;

  constructor(
    kafka: Kafka,
    private readonly options: GroupConsumerOptions,
    private readonly onClosed: () => void = () => undefined,
  ) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      rebalanceTimeout: options.rebalanceTimeoutMs,
      maxWaitTimeInMs: options.fetchMaxWaitMs,
      allowAutoTopicCreation: false,
    });
  }

  async start(): Promise<void> {
    const { handlers } = this.options;
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) =>
      this.onJoin(event.payload.memberId, event.payload.memberAssignment),
    );
    this.consumer.on(this.consumer.events.REBALANCING, () => handlers.onRejoining?.());
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      handlers.onRejoining?.();
      handlers.onError(event.payload.error);
    });
    await this.consumer.connect();
    // A new group starts at the beginning: records published before the first worker are work too.
    await this.consumer.subscribe({ topics: [...this.options.topics], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  private onJoin(memberId: string, assignment: Record<string, number[]>): void {
    const { handlers } = this.options;
    this.rejoining = false;
    if (this.memberId !== null && this.memberId !== memberId && this.assigned.length > 0) {
      // A new identity means the old one was expelled: nothing it held can be committed any more.
      handlers.onLost(this.assigned);
    }
    if (this.memberId !== memberId) {
      this.unregisterBarrier();
      this.unregisterBarrier = registerRejoinBarrier(memberId, (keepAlive) =>
        this.closed ? Promise.resolve() : handlers.onRevoking(this.assigned, keepAlive),
      );
      this.memberId = memberId;
    }
    this.assigned = flatten(assignment);
    handlers.onAssigned(this.assigned);
  }

  private async eachBatch({ batch, resolveOffset, heartbeat }: EachBatchPayload): Promise<void> {
    if (this.closed || this.rejoining || batch.messages.length === 0) return;
    // kafkajs heartbeats after each batch and hands the remaining batches of a fetch over even
    // once one heartbeat has failed: heartbeat first, and skip the rest once a rebalance is known.
    try {
      await heartbeat();
    } catch (error) {
      if (REBALANCE_ERRORS.has((error as { type?: string }).type ?? '')) {
        this.rejoining = true;
        this.options.handlers.onRejoining?.();
      }
      throw error;
    }
    const records = batch.messages.map((m) => toRecord(batch.topic, batch.partition, m));
    let taken = 0;
    try {
      taken = await this.options.handlers.onRecords({
        topic: batch.topic,
        partition: batch.partition,
        records,
      });
    } catch (error) {
      // Never let an adapter error crash kafkajs's runner: the records are simply fetched again.
      this.options.handlers.onError(error);
    }
    const last = records[Math.min(taken, records.length) - 1];
    if (last) resolveOffset(String(last.offset));
  }

  pause(partitions: readonly TopicPartition[]): void {
    if (partitions.length === 0 || this.closed) return;
    try {
      this.consumer.pause(byTopic(partitions));
    } catch (error) {
      this.options.handlers.onError(error);
    }
  }

  resume(partitions: readonly TopicPartition[]): void {
    if (partitions.length === 0 || this.closed) return;
    try {
      this.consumer.resume(byTopic(partitions));
    } catch (error) {
      this.options.handlers.onError(error);
    }
  }

  async commit(offsets: readonly OffsetCommit[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.consumer.commitOffsets(
      offsets.map((o) => ({
        topic: o.topic,
        partition: o.partition,
        offset: String(o.offset),
        metadata: o.metadata ?? null,
      })),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unregisterBarrier();
    try {
      await this.consumer.disconnect();
    } finally {
      this.onClosed();
    }
  }
}

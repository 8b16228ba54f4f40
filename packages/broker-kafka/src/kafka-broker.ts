import { type Broker, type BrokerCapabilities, ClosedError, type DeadLetter } from '@celeriac/core';
import type { ConsumeOptions, Consumer, OutgoingMessage } from '@celeriac/core/adapter';
import { kafkaBrokerCapabilities } from './capabilities.js';
import { deadLetterTopicConfig, readDeadLetters, redriveDeadLetters } from './dead-letters.js';
import { pickTier } from './delay-tiers.js';
import { toCeleriacError } from './errors.js';
import { DUE_AT_HEADER } from './headers.js';
import { KafkaConsumer } from './kafka-consumer.js';
import { type QueueTopics, queueTopics } from './naming.js';
import { type KafkaBrokerOptions, type ResolvedKafkaOptions, resolveOptions } from './options.js';
import { produceInChunks } from './produce-chunks.js';
import { encodeTaskRecord } from './record-codec.js';
import { parseMarker } from './redelivery-marker.js';
import { KafkajsTransport } from './transport/kafkajs-transport.js';
import type { KafkaTransport, ProduceRecord } from './transport/types.js';

/** Room for headers and batch framing on top of the largest message body. */
const HEADER_ROOM_BYTES = 64 * 1024;

/**
 * A Celeriac broker on Apache Kafka, with task-queue semantics: a queue is a topic, its workers
 * form a consumer group, records of one partition are processed in parallel while only the
 * finished prefix is committed, and delays, retries and dead letters go through topics of their own.
 *
 * @example
 * ```ts
 * const broker = new KafkaBroker({ brokers: ['127.0.0.1:9092'] });
 * await broker.publish({ queue: 'emails', message: createTaskMessage({ task: 'send', args: ['hi'] }) });
 * ```
 */
export class KafkaBroker implements Broker {
  readonly name = 'kafka';
  readonly capabilities: BrokerCapabilities;
  private readonly options: ResolvedKafkaOptions;
  private readonly transport: KafkaTransport;
  private readonly ownsTransport: boolean;
  private readonly queues = new Map<string, Promise<QueueTopics>>();
  private readonly consumers = new Set<KafkaConsumer>();
  private closed = false;

  constructor(options: KafkaBrokerOptions = {}) {
    this.options = resolveOptions(options);
    this.capabilities = Object.freeze({
      ...kafkaBrokerCapabilities,
      maxMessageBytes: this.options.maxMessageBytes,
    });
    this.ownsTransport = options.transport === undefined;
    this.transport =
      options.transport ??
      new KafkajsTransport({
        brokers: this.options.brokers,
        clientId: this.options.clientId,
        logLevel: this.options.logLevel,
        readerGroupPrefix: `${this.options.groupPrefix}~reader.`,
        ...(this.options.ssl ? { ssl: this.options.ssl } : {}),
        ...(this.options.sasl ? { sasl: this.options.sasl } : {}),
      });
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError('kafka broker');
  }

  /**
   * Creates the queue's topics if they are missing (work, delay tiers, dead letters); idempotent.
   * Publishing and consuming call it, so it is only needed to declare a queue ahead of use.
   */
  declareQueue(queue: string): Promise<QueueTopics> {
    this.assertOpen();
    let declared = this.queues.get(queue);
    if (!declared) {
      const topics = queueTopics(queue, this.options.groupPrefix, this.options.delayTiersMs);
      const { partitions, replicationFactor, maxMessageBytes, topicConfig, deadLetterRetentionBytes } =
        this.options;
      const maxBytes = String(maxMessageBytes + HEADER_ROOM_BYTES);
      declared = this.transport
        .ensureTopics([
          {
            topic: topics.work,
            partitions,
            replicationFactor,
            config: { 'max.message.bytes': maxBytes, ...topicConfig },
          },
          ...topics.tiers.map((t) => ({
            topic: t.topic,
            partitions,
            replicationFactor,
            // The broker's clock decides when a record entered a tier, so heads stay in due order.
            config: { 'max.message.bytes': maxBytes, 'message.timestamp.type': 'LogAppendTime' },
          })),
          // One partition keeps dead letters in order; they are kept until redriven, up to a size.
          {
            topic: topics.dlq,
            partitions: 1,
            replicationFactor,
            config: deadLetterTopicConfig(maxMessageBytes + HEADER_ROOM_BYTES, deadLetterRetentionBytes),
          },
        ])
        .then(
          () => topics,
          (error: unknown) => {
            this.queues.delete(queue);
            throw toCeleriacError(error, `declaring the topics of queue ${queue}`);
          },
        );
      this.queues.set(queue, declared);
    }
    return declared;
  }

  async publish(message: OutgoingMessage): Promise<void> {
    await this.publishMany([message]);
  }

  async publishMany(messages: readonly OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    if (messages.length === 0) return;
    const names = [...new Set(messages.map((m) => m.queue))];
    const declared = new Map(
      (await Promise.all(names.map((q) => this.declareQueue(q)))).map((t) => [t.queue, t]),
    );
    const now = Date.now();
    const records: ProduceRecord[] = messages.map((item) => {
      const topics = declared.get(item.queue) as QueueTopics;
      const delayMs = item.delayMs ?? 0;
      if (delayMs <= 0) return encodeTaskRecord(topics.work, item);
      const tierMs = pickTier(
        topics.tiers.map((t) => t.delayMs),
        delayMs,
      );
      const tier = topics.tiers.find((t) => t.delayMs === tierMs) ?? topics.tiers[0];
      return encodeTaskRecord(tier?.topic ?? topics.work, item, { [DUE_AT_HEADER]: String(now + delayMs) });
    });
    try {
      await produceInChunks(this.transport, records, this.options.maxMessageBytes);
    } catch (error) {
      throw toCeleriacError(error, 'publishing');
    }
  }

  async consume(options: ConsumeOptions): Promise<Consumer> {
    this.assertOpen();
    const queues = await Promise.all([...new Set(options.queues)].map((q) => this.declareQueue(q)));
    // Settling publishes copies (requeue, delay, dead letter): have the producer ready for them.
    const targets = queues.flatMap((t) => [t.work, t.dlq, ...t.tiers.map((x) => x.topic)]);
    await this.transport.connect(targets).catch(() => undefined);
    const consumer = await KafkaConsumer.start(queues, this.transport, this.options, options, (c) =>
      this.consumers.delete(c),
    );
    if (this.closed) {
      await consumer.close();
      throw new ClosedError('kafka broker');
    }
    this.consumers.add(consumer);
    return consumer;
  }

  /**
   * Records of the work topic past the group's position: the committed offset, or the end of what
   * a member already handed out when its redelivery marker says so. Delayed records are not counted.
   */
  async depth(queue: string): Promise<number> {
    const topics = await this.declareQueue(queue);
    try {
      const [marks, committed] = await Promise.all([
        this.transport.watermarks(topics.work),
        this.transport.committedOffsets(topics.group, topics.work),
      ]);
      let waiting = 0;
      for (const m of marks) {
        const c = committed.find((x) => x.partition === m.partition);
        const position = Math.max(m.low, c?.offset ?? m.low, parseMarker(c?.metadata).end ?? m.low);
        waiting += Math.max(0, m.high - position);
      }
      return waiting;
    } catch (error) {
      throw toCeleriacError(error, `reading the depth of ${queue}`);
    }
  }

  /**
   * Deletes every record of the work topic and the delay tiers (Kafka DeleteRecords up to the end)
   * and returns how many were waiting or delayed. Records a worker holds stay valid, but can no
   * longer come back if that worker dies.
   */
  async purge(queue: string): Promise<number> {
    const topics = await this.declareQueue(queue);
    try {
      let removed = await this.depth(queue);
      await this.truncate(topics.work);
      for (const tier of topics.tiers) {
        const [marks, committed] = await Promise.all([
          this.transport.watermarks(tier.topic),
          this.transport.committedOffsets(topics.group, tier.topic),
        ]);
        for (const m of marks) {
          const c = committed.find((x) => x.partition === m.partition)?.offset ?? m.low;
          removed += Math.max(0, m.high - Math.max(m.low, c));
        }
        await this.truncate(tier.topic);
      }
      return removed;
    } catch (error) {
      throw toCeleriacError(error, `purging ${queue}`);
    }
  }

  private async truncate(topic: string): Promise<void> {
    const marks = await this.transport.watermarks(topic);
    const before = marks
      .filter((m) => m.high > m.low)
      .map((m) => ({ partition: m.partition, offset: m.high }));
    await this.transport.deleteRecords(topic, before);
  }

  async readDeadLetters(queue: string, limit = 100): Promise<DeadLetter[]> {
    const topics = await this.declareQueue(queue);
    try {
      return await readDeadLetters(this.transport, topics, limit);
    } catch (error) {
      throw toCeleriacError(error, `reading dead letters of ${queue}`);
    }
  }

  async redriveDeadLetters(queue: string): Promise<number> {
    const topics = await this.declareQueue(queue);
    try {
      return await redriveDeadLetters(this.transport, topics, this.options.maxMessageBytes);
    } catch (error) {
      throw toCeleriacError(error, `redriving dead letters of ${queue}`);
    }
  }

  /**
   * Test hook: produces a raw record (no headers) on a queue, as a foreign producer might, so the
   * malformed-message path can be exercised.
   */
  async injectRaw(queue: string, raw: string): Promise<void> {
    const topics = await this.declareQueue(queue);
    await this.transport.produce([{ topic: topics.work, key: null, value: raw, headers: {} }]);
  }

  /**
   * Test hook: drops every consumer without committing or settling anything and disconnects, as a
   * killed process would (its partitions move on at once, since the members leave the group).
   */
  async simulateCrash(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.consumers].map((c) => c.crash()));
    if (this.ownsTransport) await this.transport.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.consumers].map((c) => c.close()));
    if (this.ownsTransport) await this.transport.close();
  }
}

import type { CeleriacError } from '@celeriac/core';
import type { ConsumeOptions, Consumer } from '@celeriac/core/adapter';
import { Credits } from './credits.js';
import { toCeleriacError } from './errors.js';
import type { QueueTopics } from './naming.js';
import type { ResolvedKafkaOptions } from './options.js';
import { QueueConsumer } from './queue-consumer.js';
import type { KafkaTransport } from './transport/types.js';

/** A running consumer: one group member per queue, sharing the consumer's free slots. */
export class KafkaConsumer implements Consumer {
  private readonly credits: Credits;
  private readonly members: QueueConsumer[];
  private closing: Promise<void> | undefined;

  private constructor(
    queues: readonly QueueTopics[],
    transport: KafkaTransport,
    options: ResolvedKafkaOptions,
    consume: ConsumeOptions,
    private readonly onClosed: (consumer: KafkaConsumer) => void,
  ) {
    this.credits = new Credits(Math.max(1, consume.prefetch));
    const onError = (error: CeleriacError) => consume.onError?.(error);
    this.members = queues.map(
      (topics) =>
        new QueueConsumer({
          topics,
          transport,
          options,
          credits: this.credits,
          onDelivery: consume.onDelivery,
          onError,
        }),
    );
  }

  /** Joins every queue's group; resolves once each member has its first assignment. */
  static async start(
    queues: readonly QueueTopics[],
    transport: KafkaTransport,
    options: ResolvedKafkaOptions,
    consume: ConsumeOptions,
    onClosed: (consumer: KafkaConsumer) => void,
  ): Promise<KafkaConsumer> {
    const consumer = new KafkaConsumer(queues, transport, options, consume, onClosed);
    try {
      await Promise.all(consumer.members.map((m) => m.start()));
    } catch (error) {
      await consumer.close();
      throw toCeleriacError(error, 'joining the consumer group');
    }
    return consumer;
  }

  setPrefetch(prefetch: number): void {
    this.credits.setLimit(Math.max(1, prefetch));
  }

  async pause(): Promise<void> {
    this.credits.pause();
  }

  resume(): void {
    this.credits.resume();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(this.members.map((m) => m.close()));
      this.onClosed(this);
    })();
    return this.closing;
  }

  /** Leaves without committing or settling anything, as a killed process would (test hook). */
  async crash(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(this.members.map((m) => m.crash()));
      this.onClosed(this);
    })();
    return this.closing;
  }
}

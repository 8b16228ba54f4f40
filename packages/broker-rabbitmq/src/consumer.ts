import { BrokerError, type CeleriacError, ConfigError } from '@celeriac/core';
import type { ConsumeOptions, Consumer } from '@celeriac/core/adapter';
import type { Channel, ConsumeMessage } from 'amqplib';
import { ChannelAcks } from './channel-acks.js';
import { DELIVERY_COUNT_HEADER, republishOptions, routeSpec } from './codec.js';
import type { ConnectionManager } from './connection.js';
import { countHeader, createRabbitMQDelivery, Held, RabbitMQSettler } from './delivery.js';
import { ADAPTER, toCeleriacError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import type { Publisher } from './publisher.js';
import type { Session } from './session.js';
import { ensureDeadLetterQueue, ensureWorkQueue } from './topology.js';

/** What a consumer shares with its broker. */
export interface ConsumerDeps {
  readonly connection: ConnectionManager;
  readonly publisher: Publisher;
  readonly options: ResolvedOptions;
  readonly onClosed: (consumer: RabbitMQConsumer) => void;
}

const RETRY_DELAY_MS = 1_000;

/**
 * The queue's `x-delivery-limit` must let through the delivery over the consumer owner's limit,
 * so the owner (the worker) stores a FAILURE before dead-lettering it; RabbitMQ dead-letters a
 * message returned more than `x-delivery-limit` times, unseen.
 */
function checkDeliveryLimit(queueLimit: number | undefined, ownerLimit: number | undefined): void {
  if (queueLimit === undefined || ownerLimit === undefined || queueLimit >= ownerLimit) return;
  throw new ConfigError(
    `rabbitmq: deliveryLimit (${queueLimit}) is below the consumer's maxDeliveries (${ownerLimit}): RabbitMQ would dead-letter a poison message before the worker stores its FAILURE, and a caller waiting for the result would wait until its timeout. Set deliveryLimit well above maxDeliveries (it is a crash-loop backstop), or lower maxDeliveries.`,
  );
}

/**
 * Consumes one or more queues on a channel of its own with manual acknowledgement. Prefetch is
 * `basic.qos`: channel-wide on classic queues (one cap across all queues, changed in place),
 * per consumer on quorum queues (RabbitMQ has no channel-wide QoS for them). After a reconnect or
 * a channel error it declares its queues again and resumes; deliveries from the old channel are
 * redelivered by RabbitMQ, and settling them is a reported no-op.
 */
export class RabbitMQConsumer implements Consumer {
  private channel: Channel | undefined;
  /** The acks of `channel`. */
  private acks: ChannelAcks | undefined;
  private readonly tags = new Map<string, string>();
  private prefetch: number;
  private paused = false;
  private closed = false;
  private attaching = false;
  private stopped: CeleriacError | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly unsettled = new Set<Held>();
  private readonly operations = new Set<Promise<unknown>>();
  private readonly unsubscribe: (() => void)[] = [];
  private readonly settler: RabbitMQSettler;

  constructor(
    private readonly deps: ConsumerDeps,
    private readonly options: ConsumeOptions,
  ) {
    this.prefetch = Math.max(1, Math.floor(options.prefetch));
    checkDeliveryLimit(deps.options.deliveryLimit, options.maxDeliveries);
    this.settler = new RabbitMQSettler({
      isLive: (channel) => channel === this.channel,
      publish: (spec) => deps.publisher.publish(spec),
      settling: (held, operation) => this.track(held, operation),
      report: (error) => this.report(error),
    });
  }

  private get quorum(): boolean {
    return this.deps.options.queueType === 'quorum';
  }

  /** Attaches for the first time: retries transient failures until `connectTimeoutMs`, throws the rest. */
  async start(): Promise<void> {
    // Subscribe first, so a connection lost right after the first attach is noticed.
    this.unsubscribe.push(
      this.deps.connection.onUp(() => this.reattach()),
      this.deps.connection.onDown((error) => this.report(error)),
    );
    const deadline = Date.now() + this.deps.options.connectTimeoutMs;
    this.attaching = true;
    try {
      for (;;) {
        const session = await this.deps.connection.whenConnected(Math.max(1, deadline - Date.now()));
        try {
          await this.attach(session);
          return;
        } catch (error) {
          const failure = toCeleriacError(error, 'starting the consumer');
          if (!failure.retriable || Date.now() >= deadline) throw failure;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    } catch (error) {
      this.closed = true;
      for (const off of this.unsubscribe.splice(0)) off();
      throw error;
    } finally {
      this.attaching = false;
    }
  }

  private report(error: CeleriacError): void {
    try {
      this.options.onError?.(error);
    } catch {
      // A throwing error handler must not take the connection down.
    }
  }

  /** Keeps a settlement in progress for `close()`; a failed one leaves the message unsettled. */
  private track(held: Held, operation: Promise<unknown>): void {
    const tracked = operation.then(
      () => void this.unsettled.delete(held),
      () => {},
    );
    this.operations.add(tracked);
    void tracked.finally(() => this.operations.delete(tracked));
  }

  private async attach(session: Session): Promise<void> {
    for (const queue of this.options.queues) {
      await ensureWorkQueue(session, queue, this.deps.options);
      // Declared up front, so dead-lettering a message costs one confirmed publish.
      await ensureDeadLetterQueue(session, queue, this.deps.options);
    }
    const channel = await session.model.createChannel();
    let serverError: unknown;
    channel.on('error', (error: unknown) => {
      serverError = error;
    });
    channel.on('close', () => this.channelClosed(channel, serverError));
    if (this.closed) {
      // close() ran while we were connecting: do not start consuming behind its back.
      await channel.close().catch(() => {});
      return;
    }
    this.channel = channel;
    this.acks = new ChannelAcks(channel);
    try {
      await channel.prefetch(this.prefetch, !this.quorum);
      if (!this.paused) await this.consumeAll(channel);
    } catch (error) {
      if (this.channel === channel) this.channel = undefined;
      await channel.close().catch(() => {});
      throw error;
    }
  }

  private async consumeAll(channel: Channel): Promise<void> {
    for (const queue of this.options.queues) {
      if (this.tags.has(queue)) continue;
      const { consumerTag } = await channel.consume(queue, (msg) => this.received(channel, queue, msg), {
        noAck: false,
      });
      if (this.channel === channel) this.tags.set(queue, consumerTag);
    }
  }

  private reattach(): void {
    if (this.closed || this.stopped || this.attaching || this.channel) return;
    const session = this.deps.connection.session;
    if (!session) return; // the next connection calls us again
    this.attaching = true;
    this.attach(session)
      .catch((error: unknown) => {
        const failure = toCeleriacError(error, `resuming the consumer of ${this.options.queues.join(', ')}`);
        this.report(failure);
        // A 406 or refused access will not fix itself: stop instead of looping.
        if (!failure.retriable) this.stopped = failure;
        else this.scheduleReattach();
      })
      .finally(() => {
        this.attaching = false;
      });
  }

  private scheduleReattach(): void {
    if (this.closed || this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.reattach();
    }, RETRY_DELAY_MS);
  }

  private channelClosed(channel: Channel, serverError: unknown): void {
    if (this.channel !== channel) return;
    this.channel = undefined;
    this.tags.clear();
    // Everything unsettled on that channel is back in its queue; settling it now is a no-op.
    this.unsettled.clear();
    if (this.closed) return;
    if (serverError) {
      this.report(toCeleriacError(serverError, `consuming ${this.options.queues.join(', ')}`));
    }
    this.scheduleReattach();
  }

  /** RabbitMQ cancelled a consumer (its queue was deleted, or a quorum leader moved): consume again. */
  private serverCancelled(channel: Channel, queue: string): void {
    this.tags.delete(queue);
    this.deps.connection.session?.forget(`queue:${queue}`);
    this.report(
      new BrokerError(ADAPTER, `RabbitMQ cancelled the consumer of "${queue}"; consuming it again`, true),
    );
    setTimeout(() => {
      const session = this.deps.connection.session;
      if (this.closed || this.paused || this.channel !== channel || !session) return;
      ensureWorkQueue(session, queue, this.deps.options)
        .then(() => this.consumeAll(channel))
        .catch((error: unknown) => this.report(toCeleriacError(error, `consuming "${queue}" again`)));
    }, RETRY_DELAY_MS);
  }

  private received(channel: Channel, queue: string, msg: ConsumeMessage | null): void {
    // Anything thrown inside an amqplib callback would close the whole connection.
    try {
      if (msg === null) {
        this.serverCancelled(channel, queue);
        return;
      }
      const acks = this.acks;
      if (channel !== this.channel || this.closed || !acks) return;
      acks.received(msg);
      const held = new Held(acks, msg, queue);
      this.unsettled.add(held);
      const before = countHeader(msg, DELIVERY_COUNT_HEADER) ?? 0;
      // Quorum queues count returns exactly in x-delivery-count; classic ones only flag a redelivery.
      const returned = countHeader(msg, 'x-delivery-count');
      if (returned !== undefined) this.hand(held, before + 1 + returned);
      else if (!msg.fields.redelivered) this.hand(held, before + 1);
      else if (this.deps.options.exactDeliveryCount) this.recount(held, before + 1);
      else this.hand(held, before + 2);
    } catch (error) {
      this.report(toCeleriacError(error, `handling a message from "${queue}"`));
    }
  }

  private hand(held: Held, deliveryCount: number): void {
    const delivery = createRabbitMQDelivery(this.settler, held, deliveryCount);
    try {
      this.options.onDelivery(delivery);
    } catch (error) {
      this.report(
        new BrokerError(ADAPTER, 'onDelivery threw; the delivery stays unsettled', false, { cause: error }),
      );
    }
  }

  /**
   * A classic queue only says "redelivered". To keep the count exact, publish a copy carrying the
   * number of deliveries so far, then acknowledge the original; the copy comes back as a first
   * delivery with that count.
   */
  private recount(held: Held, deliveredSoFar: number): void {
    held.released = true;
    const spec = routeSpec(
      held.queue,
      held.msg.content,
      republishOptions(held.msg, { [DELIVERY_COUNT_HEADER]: deliveredSoFar }),
      0,
    );
    const operation = this.deps.publisher.publish(spec).then(
      () => (held.channel === this.channel ? held.acks.ack(held.msg, () => {}) : undefined),
      (error: unknown) => {
        this.report(toCeleriacError(error, 'recounting a redelivered message'));
        // Leave it unacknowledged a moment, so a failing publish does not spin.
        setTimeout(() => this.write(held, () => held.acks.nack(held.msg, true)), RETRY_DELAY_MS);
      },
    );
    this.track(held, operation);
  }

  /** Acks or nacks on the message's channel if it is still ours; a closing channel redelivers anyway. */
  private write(held: Held, op: () => void): void {
    if (held.channel !== this.channel) return;
    try {
      op();
    } catch {
      // The channel is closing: RabbitMQ returns the message to its queue.
    }
  }

  setPrefetch(prefetch: number): void {
    this.prefetch = Math.max(1, Math.floor(prefetch));
    const channel = this.channel;
    if (!channel) return;
    if (!this.quorum) {
      channel
        .prefetch(this.prefetch, true)
        .catch((error: unknown) => this.report(toCeleriacError(error, 'basic.qos')));
      return;
    }
    // Per-consumer QoS only applies to consumers started after it: restart them.
    void this.restartConsumers(channel);
  }

  private async restartConsumers(channel: Channel): Promise<void> {
    try {
      await channel.prefetch(this.prefetch, false);
      for (const [queue, tag] of [...this.tags]) {
        await channel.cancel(tag);
        this.tags.delete(queue);
      }
      if (!this.paused && channel === this.channel) await this.consumeAll(channel);
    } catch (error) {
      this.report(toCeleriacError(error, 'changing the prefetch'));
    }
  }

  async pause(): Promise<void> {
    this.paused = true;
    const channel = this.channel;
    if (!channel) return;
    for (const [queue, tag] of [...this.tags]) {
      this.tags.delete(queue);
      await channel.cancel(tag).catch(() => {});
    }
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const channel = this.channel;
    if (!channel) {
      this.reattach();
      return;
    }
    this.consumeAll(channel).catch((error: unknown) => {
      this.report(toCeleriacError(error, 'resuming'));
      this.scheduleReattach();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.unsubscribe.splice(0)) off();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    // Let settlements in progress (a dead letter waiting for its confirm) finish first.
    await Promise.race([Promise.allSettled([...this.operations]), new Promise((r) => setTimeout(r, 5_000))]);
    const channel = this.channel;
    this.channel = undefined;
    for (const held of this.unsettled) held.released = true;
    this.unsettled.clear();
    if (channel) {
      for (const tag of this.tags.values()) await channel.cancel(tag).catch(() => {});
      this.tags.clear();
      // Closing the channel returns every unacknowledged message to its queue.
      await channel.close().catch(() => {});
    }
    this.deps.onClosed(this);
  }
}

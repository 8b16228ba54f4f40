import { BrokerError, type CeleriacError, type DeadLetterReason, type TaskMessage } from '@celeriac/core';
import {
  createDelivery,
  type Delivery,
  decodeOrMalformed,
  decodeTaskMessage,
  type Settler,
} from '@celeriac/core/adapter';
import type { Channel, Message } from 'amqplib';
import type { ChannelAcks } from './channel-acks.js';
import {
  DELIVERY_COUNT_HEADER,
  deadLetterSpec,
  type PublishSpec,
  republishOptions,
  routeSpec,
  wirePartsOf,
} from './codec.js';
import { ADAPTER } from './errors.js';
import { normaliseDelay } from './names.js';

/** A message a consumer received and has not settled yet. */
export class Held {
  /**
   * The consumer let go of it (closed, or re-published it to recount it): settling it does nothing,
   * as RabbitMQ has it back.
   */
  released = false;
  /** Deliveries so far, this one included; requeued copies carry it on. */
  deliveryCount = 0;
  readonly channel: Channel;
  constructor(
    /** The acks of the channel it arrived on. */
    readonly acks: ChannelAcks,
    readonly msg: Message,
    readonly queue: string,
  ) {
    this.channel = acks.channel;
  }
}

/** What settling needs from the consumer. */
export interface SettlementContext {
  /** Whether `channel` is still the consumer's live channel (acks on any other are lost). */
  isLive(channel: Channel): boolean;
  /** Publishes with confirms (the delay chain, the dead-letter queue). */
  publish(spec: PublishSpec): Promise<void>;
  /** Keeps a settlement until it finishes; a settled message is forgotten once it succeeded. */
  settling(held: Held, operation: Promise<unknown>): void;
  report(error: CeleriacError): void;
}

function stale(what: string, queue: string): BrokerError {
  return new BrokerError(
    ADAPTER,
    `could not ${what} a message from "${queue}": the channel it arrived on has closed, so RabbitMQ delivers it again`,
    true,
  );
}

/** Acks or nacks; a channel closing under us means RabbitMQ redelivers, so that is reported, not thrown. */
function write(ctx: SettlementContext, held: Held, what: string, op: () => void): void {
  try {
    op();
  } catch {
    ctx.report(stale(what, held.queue));
  }
}

/**
 * Settles the messages of one consumer (see `SettleOnce`). A message whose channel has closed is
 * back in its queue already: settling it is reported and does nothing. Republishing settlements
 * (delayed requeue, dead letter) publish with confirms first and acknowledge after, so a crash in
 * between duplicates, never loses; if the republish fails, the message stays unacknowledged and
 * unsettled, to be settled again.
 */
export class RabbitMQSettler implements Settler<Held> {
  constructor(private readonly ctx: SettlementContext) {}

  ack(held: Held): Promise<void> | undefined {
    if (!this.live(held, 'acknowledge')) return undefined;
    const { ctx } = this;
    // Gathered with the other acks of this turn (see ChannelAcks).
    return this.track(
      held,
      held.acks.ack(held.msg, () => ctx.report(stale('acknowledge', held.queue))),
    );
  }

  requeue(held: Held, delayMs: number): Promise<void> | undefined {
    const delay = normaliseDelay(delayMs);
    if (!this.live(held, 'requeue')) return undefined;
    if (delay === 0) {
      write(this.ctx, held, 'requeue', () => held.acks.nack(held.msg, true));
      this.ctx.settling(held, Promise.resolve());
      return undefined;
    }
    // The count travels with the copy, so the next delivery continues from it.
    const options = republishOptions(held.msg, { [DELIVERY_COUNT_HEADER]: held.deliveryCount });
    return this.republishThenAck(held, 'requeue', routeSpec(held.queue, held.msg.content, options, delay));
  }

  deadLetter(held: Held, reason: DeadLetterReason): Promise<void> | undefined {
    if (!this.live(held, 'dead-letter')) return undefined;
    return this.republishThenAck(held, 'dead-letter', deadLetterSpec(held.queue, held.msg, reason));
  }

  /** Whether the message is still ours to settle on its channel; reports a stale one. */
  private live(held: Held, what: string): boolean {
    if (held.released) return false;
    if (this.ctx.isLive(held.channel)) return true;
    this.ctx.report(stale(what, held.queue));
    return false;
  }

  private republishThenAck(held: Held, what: string, spec: PublishSpec): Promise<void> {
    const { ctx } = this;
    const operation = ctx.publish(spec).then(() => {
      if (ctx.isLive(held.channel)) return held.acks.ack(held.msg, () => ctx.report(stale(what, held.queue)));
      // The copy is out and the original comes back too: a duplicate, never a loss.
      ctx.report(stale(what, held.queue));
      return undefined;
    });
    return this.track(held, operation);
  }

  private track(held: Held, operation: Promise<void>): Promise<void> {
    this.ctx.settling(held, operation);
    return operation;
  }
}

const bodyText = (msg: Message): string => msg.content.toString('utf8');
const decodeMessage = (msg: Message): TaskMessage => decodeTaskMessage(wirePartsOf(msg));

/** Decodes a message into a task delivery, or a malformed one carrying the raw body text. */
export function createRabbitMQDelivery(
  settler: RabbitMQSettler,
  held: Held,
  deliveryCount: number,
): Delivery {
  held.deliveryCount = deliveryCount;
  const decoded = decodeOrMalformed(held.msg, decodeMessage, bodyText);
  return createDelivery(decoded, held.queue, deliveryCount, held, settler);
}

/** A non-negative integer header value, if present. */
export function countHeader(msg: Message, name: string): number | undefined {
  const value: unknown = msg.properties.headers?.[name];
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

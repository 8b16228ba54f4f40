import { BrokerError, type CeleriacError, type DeadLetterReason, DecodeError } from '@celeriac/core';
import { type Delivery, type DeliverySettlement, decodeTaskMessage } from '@celeriac/core/adapter';
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
  settled = false;
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

/** What a delivery needs from its consumer to settle. */
export interface SettlementContext {
  /** Whether `channel` is still the consumer's live channel (acks on any other are lost). */
  isLive(channel: Channel): boolean;
  /** Publishes with confirms (the delay chain, the dead-letter queue). */
  publish(spec: PublishSpec): Promise<void>;
  /** Forgets a settled message and keeps the settling operation until it finishes. */
  settled(held: Held, operation: Promise<unknown>): void;
  report(error: CeleriacError): void;
}

function stale(what: string, queue: string): BrokerError {
  return new BrokerError(
    ADAPTER,
    `could not ${what} a message from "${queue}": the channel it arrived on has closed, so RabbitMQ delivers it again`,
    true,
  );
}

/** Whether the message is still safe to settle on its channel; reports it otherwise. */
function live(ctx: SettlementContext, held: Held, what: string): boolean {
  if (ctx.isLive(held.channel)) return true;
  ctx.report(stale(what, held.queue));
  return false;
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
 * Settlement of one message. Republishing settlements (delayed requeue, dead letter) publish
 * with confirms first and acknowledge after, so a crash in between duplicates, never loses.
 * If the republish fails, the message is returned to its queue and the error is thrown.
 */
function settlement(ctx: SettlementContext, held: Held, deliveryCount: number): DeliverySettlement {
  const { acks, channel, msg, queue } = held;
  const once = (what: string, op: () => Promise<void>): Promise<void> => {
    if (held.settled) return Promise.resolve();
    held.settled = true;
    const operation = live(ctx, held, what) ? op() : Promise.resolve();
    ctx.settled(held, operation);
    return operation;
  };
  const republishThenAck = async (what: string, spec: PublishSpec): Promise<void> => {
    try {
      await ctx.publish(spec);
    } catch (error) {
      if (ctx.isLive(channel)) write(ctx, held, what, () => acks.nack(msg, true));
      throw error;
    }
    if (live(ctx, held, what)) await acks.ack(msg, () => ctx.report(stale(what, queue)));
  };
  return {
    queue,
    deliveryCount,
    // Gathered with the other acks of this turn (see ChannelAcks).
    ack: () => once('acknowledge', () => acks.ack(msg, () => ctx.report(stale('acknowledge', queue)))),
    requeue: (options) => {
      const delayMs = normaliseDelay(options?.delayMs);
      if (delayMs === 0) {
        return once('requeue', async () => write(ctx, held, 'requeue', () => acks.nack(msg, true)));
      }
      // The count travels with the copy, so the next delivery continues from it.
      const spec = routeSpec(
        queue,
        msg.content,
        republishOptions(msg, { [DELIVERY_COUNT_HEADER]: deliveryCount }),
        delayMs,
      );
      return once('requeue', () => republishThenAck('requeue', spec));
    },
    deadLetter: (reason: DeadLetterReason) =>
      once('dead-letter', () => republishThenAck('dead-letter', deadLetterSpec(queue, msg, reason))),
  };
}

/** Decodes a message into a task delivery, or a malformed one carrying the raw body text. */
export function createDelivery(ctx: SettlementContext, held: Held, deliveryCount: number): Delivery {
  const base = settlement(ctx, held, deliveryCount);
  try {
    return { ...base, kind: 'task', message: decodeTaskMessage(wirePartsOf(held.msg)) };
  } catch (error) {
    const decodeError =
      error instanceof DecodeError
        ? error
        : new DecodeError('message could not be decoded', { cause: error });
    return { ...base, kind: 'malformed', raw: held.msg.content.toString('utf8'), error: decodeError };
  }
}

/** A non-negative integer header value, if present. */
export function countHeader(msg: Message, name: string): number | undefined {
  const value: unknown = msg.properties.headers?.[name];
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

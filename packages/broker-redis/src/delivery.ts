import { type DeadLetterReason, DecodeError, type TaskMessage } from '@celeriac/core';
import { type Delivery, type MalformedDelivery, type TaskDelivery } from '@celeriac/core/adapter';
import { decodeEnvelope } from './envelope.js';
import type { FetchLoop } from './fetch-loop.js';
import type { PriorityStep } from './priority.js';

/** A delivery the consumer holds until it is settled. */
export interface HeldDelivery {
  /** The loop (and so the keyspace) that fetched it. */
  readonly loop: FetchLoop;
  /** Delivery tag in the held bookkeeping. */
  readonly tag: string;
  readonly queue: string;
  /** The priority list it came from, where a requeue puts it back. */
  readonly step: PriorityStep;
  settled: boolean;
  /** The handler is done (see `Delivery.handled`): no longer counted against the prefetch. */
  handled: boolean;
}

/** Settles held deliveries (implemented by the consumer). */
export interface Settler {
  ack(held: HeldDelivery): Promise<void>;
  requeue(held: HeldDelivery, delayMs: number): Promise<void>;
  deadLetter(held: HeldDelivery, reason: DeadLetterReason): Promise<void>;
  handled(held: HeldDelivery): void;
}

/** Settlement shared by both kinds; methods on a prototype, not closures made per message. */
abstract class HeldSettlement {
  constructor(
    private readonly held: HeldDelivery,
    private readonly settler: Settler,
    readonly deliveryCount: number,
  ) {}

  get queue(): string {
    return this.held.queue;
  }

  ack(): Promise<void> {
    return this.settler.ack(this.held);
  }

  requeue(options?: { readonly delayMs?: number }): Promise<void> {
    return this.settler.requeue(this.held, options?.delayMs ?? 0);
  }

  deadLetter(reason: DeadLetterReason): Promise<void> {
    return this.settler.deadLetter(this.held, reason);
  }

  handled(): void {
    this.settler.handled(this.held);
  }
}

class RedisTaskDelivery extends HeldSettlement implements TaskDelivery {
  readonly kind = 'task';
  constructor(
    held: HeldDelivery,
    settler: Settler,
    deliveryCount: number,
    readonly message: TaskMessage,
  ) {
    super(held, settler, deliveryCount);
  }
}

class RedisMalformedDelivery extends HeldSettlement implements MalformedDelivery {
  readonly kind = 'malformed';
  constructor(
    held: HeldDelivery,
    settler: Settler,
    deliveryCount: number,
    readonly raw: string,
    readonly error: DecodeError,
  ) {
    super(held, settler, deliveryCount);
  }
}

/** A task delivery, or a malformed one carrying its raw text so it can be dead-lettered. */
export function buildDelivery(
  held: HeldDelivery,
  deliveryCount: number,
  raw: string,
  settler: Settler,
): Delivery {
  let message: TaskMessage;
  try {
    message = decodeEnvelope(raw);
  } catch (error) {
    const decodeError =
      error instanceof DecodeError
        ? error
        : new DecodeError('message could not be decoded', { cause: error });
    return new RedisMalformedDelivery(held, settler, deliveryCount, raw, decodeError);
  }
  return new RedisTaskDelivery(held, settler, deliveryCount, message);
}

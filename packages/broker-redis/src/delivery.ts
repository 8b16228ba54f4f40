import { type DeadLetterReason, DecodeError, type Delivery } from '@celeriac/core';
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
}

/** Settles held deliveries (implemented by the consumer). */
export interface Settler {
  ack(held: HeldDelivery): Promise<void>;
  requeue(held: HeldDelivery, delayMs: number): Promise<void>;
  deadLetter(held: HeldDelivery, reason: DeadLetterReason): Promise<void>;
}

/** A task delivery, or a malformed one carrying its raw text so it can be dead-lettered. */
export function buildDelivery(
  held: HeldDelivery,
  deliveryCount: number,
  raw: string,
  settler: Settler,
): Delivery {
  const base = {
    queue: held.queue,
    deliveryCount,
    ack: () => settler.ack(held),
    requeue: (options?: { readonly delayMs?: number }) => settler.requeue(held, options?.delayMs ?? 0),
    deadLetter: (reason: DeadLetterReason) => settler.deadLetter(held, reason),
  };
  try {
    return { ...base, kind: 'task', message: decodeEnvelope(raw) };
  } catch (error) {
    const decodeError =
      error instanceof DecodeError
        ? error
        : new DecodeError('message could not be decoded', { cause: error });
    return { ...base, kind: 'malformed', raw, error: decodeError };
  }
}

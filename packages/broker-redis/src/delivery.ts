import { createDelivery, type Delivery, decodeOrMalformed, type Settler } from '@celeriac/core/adapter';
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
  /** Returned to the queue by the closing consumer: settling it does nothing. */
  released: boolean;
  /** The handler is done (see `Delivery.handled`): no longer counted against the prefetch. */
  handled: boolean;
}

const asText = (raw: string): string => raw;

/** A task delivery, or a malformed one carrying its raw text so it can be dead-lettered. */
export function buildDelivery(
  held: HeldDelivery,
  deliveryCount: number,
  raw: string,
  settler: Settler<HeldDelivery>,
): Delivery {
  return createDelivery(
    decodeOrMalformed(raw, decodeEnvelope, asText),
    held.queue,
    deliveryCount,
    held,
    settler,
  );
}

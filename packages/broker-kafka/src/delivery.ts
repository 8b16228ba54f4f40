import type { DeadLetterReason, Delivery } from '@celeriac/core';
import type { DecodedRecord } from './record-codec.js';

/** What a delivery's settlement methods do, supplied by the consumer that handed it out. */
export interface SettlementOps {
  /** Settles once: runs `publish` first when given (a copy elsewhere), then finishes the record. */
  settle(publish?: () => Promise<void>): Promise<void>;
  /** Publishes a copy back to the queue, through a delay tier when `delayMs` > 0. */
  publishRequeue(delayMs: number): Promise<void>;
  /** Publishes a copy to the dead-letter topic with the reason. */
  publishDeadLetter(reason: DeadLetterReason): Promise<void>;
}

/** A delivery of a decoded record. */
export function createDelivery(
  queue: string,
  deliveryCount: number,
  decoded: DecodedRecord,
  ops: SettlementOps,
): Delivery {
  const settlement = {
    queue,
    deliveryCount,
    ack: () => ops.settle(),
    requeue: (options?: { readonly delayMs?: number }) =>
      ops.settle(() => ops.publishRequeue(options?.delayMs ?? 0)),
    deadLetter: (reason: DeadLetterReason) => ops.settle(() => ops.publishDeadLetter(reason)),
  };
  return decoded.kind === 'task'
    ? { ...settlement, kind: 'task', message: decoded.message }
    : { ...settlement, kind: 'malformed', raw: decoded.raw, error: decoded.error };
}

import type { DeadLetterReason } from '@celeriac/core';
import { createDelivery, type DecodedMessage, type Delivery, type Settler } from '@celeriac/core/adapter';
import { toCeleriacError } from './errors.js';
import type { TransportRecord } from './transport/types.js';
import type { WorkPartition } from './work-partition.js';

/** What settling needs from the consumer that handed the record out. */
export interface SettlementHost {
  /** The record is done with (acknowledged, or its copy is published): free its slot, finish its offset. */
  settled(part: WorkPartition, offset: number): void;
  /** Whether the record went back to the queue already (closed, or the partition moved). */
  released(part: WorkPartition): boolean;
  /** Publishes a copy back to the queue, through a delay tier when `delayMs` > 0. */
  publishRequeue(record: TransportRecord, deliveryCount: number, delayMs: number): Promise<void>;
  /** Publishes a copy to the dead-letter topic with the reason. */
  publishDeadLetter(record: TransportRecord, deliveryCount: number, reason: DeadLetterReason): Promise<void>;
}

/** A record handed out and not settled yet. */
export interface HeldRecord {
  readonly part: WorkPartition;
  readonly record: TransportRecord;
  readonly deliveryCount: number;
}

/**
 * Settles records (see `SettleOnce`). An acknowledgement settles at once: only a copy to publish
 * (requeue, dead letter) is awaited, and a failed publish leaves the delivery unsettled.
 */
export class KafkaSettler implements Settler<HeldRecord> {
  constructor(private readonly host: SettlementHost) {}

  ack(held: HeldRecord): undefined {
    this.host.settled(held.part, held.record.offset);
    return undefined;
  }

  requeue(held: HeldRecord, delayMs: number): Promise<void> | undefined {
    return this.settleAfter(held, () =>
      this.host.publishRequeue(held.record, held.deliveryCount, Math.max(0, delayMs)),
    );
  }

  deadLetter(held: HeldRecord, reason: DeadLetterReason): Promise<void> | undefined {
    return this.settleAfter(held, () => this.host.publishDeadLetter(held.record, held.deliveryCount, reason));
  }

  /** Settles once the copy is published. */
  private settleAfter(held: HeldRecord, publish: () => Promise<void>): Promise<void> | undefined {
    // Returned to the queue already: there is nothing to publish a copy of.
    if (this.host.released(held.part)) return this.ack(held);
    return publish().then(
      () => this.host.settled(held.part, held.record.offset),
      (error: unknown) => {
        throw toCeleriacError(error, 'settling a delivery');
      },
    );
  }
}

/** A delivery of a decoded record of `part`. */
export function createKafkaDelivery(
  queue: string,
  decoded: DecodedMessage,
  held: HeldRecord,
  settler: KafkaSettler,
): Delivery {
  return createDelivery(decoded, queue, held.deliveryCount, held, settler);
}

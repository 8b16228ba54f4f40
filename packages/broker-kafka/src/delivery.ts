import type { DeadLetterReason, DecodeError, TaskMessage } from '@celeriac/core';
import type { Delivery, MalformedDelivery, TaskDelivery } from '@celeriac/core/adapter';
import { brokerError } from './errors.js';
import type { DecodedRecord } from './record-codec.js';
import type { TransportRecord } from './transport/types.js';
import type { WorkPartition } from './work-partition.js';

/** What settling a delivery does, implemented by the consumer that handed it out. */
export interface Settler {
  /** The record is done with (acknowledged, or its copy is published): free its slot, finish its offset. */
  settled(part: WorkPartition, offset: number): void;
  /** Whether the record went back to the queue already (closed, or the partition moved). */
  released(part: WorkPartition): boolean;
  /** Publishes a copy back to the queue, through a delay tier when `delayMs` > 0. */
  publishRequeue(record: TransportRecord, deliveryCount: number, delayMs: number): Promise<void>;
  /** Publishes a copy to the dead-letter topic with the reason. */
  publishDeadLetter(record: TransportRecord, deliveryCount: number, reason: DeadLetterReason): Promise<void>;
}

const PENDING = 0;
const SETTLING = 1;
const SETTLED = 2;

/** Shared by every acknowledgement: nothing in it to wait for. */
const DONE: Promise<void> = Promise.resolve();

/**
 * Settlement shared by both kinds of delivery. Methods live on the prototype (no closures per
 * record), and an acknowledgement settles synchronously: only a copy to publish is awaited.
 */
abstract class KafkaSettlement {
  private state = PENDING;

  constructor(
    readonly queue: string,
    readonly deliveryCount: number,
    private readonly part: WorkPartition,
    private readonly record: TransportRecord,
    private readonly settler: Settler,
  ) {}

  ack(): Promise<void> {
    if (this.state !== PENDING) return DONE;
    this.state = SETTLED;
    this.settler.settled(this.part, this.record.offset);
    return DONE;
  }

  requeue(options?: { readonly delayMs?: number }): Promise<void> {
    const delayMs = options?.delayMs ?? 0;
    return this.settleAfter(() => this.settler.publishRequeue(this.record, this.deliveryCount, delayMs));
  }

  deadLetter(reason: DeadLetterReason): Promise<void> {
    return this.settleAfter(() => this.settler.publishDeadLetter(this.record, this.deliveryCount, reason));
  }

  /** Settles once the copy is published; a failed publish leaves the delivery unsettled. */
  private settleAfter(publish: () => Promise<void>): Promise<void> {
    if (this.state !== PENDING) return DONE;
    // Returned to the queue already: there is nothing to publish a copy of.
    if (this.settler.released(this.part)) return this.ack();
    this.state = SETTLING;
    return publish().then(
      () => {
        this.state = SETTLED;
        this.settler.settled(this.part, this.record.offset);
      },
      (error: unknown) => {
        this.state = PENDING;
        throw brokerError('settling a delivery', error);
      },
    );
  }
}

class KafkaTaskDelivery extends KafkaSettlement implements TaskDelivery {
  readonly kind = 'task';
  constructor(
    queue: string,
    deliveryCount: number,
    part: WorkPartition,
    record: TransportRecord,
    settler: Settler,
    readonly message: TaskMessage,
  ) {
    super(queue, deliveryCount, part, record, settler);
  }
}

class KafkaMalformedDelivery extends KafkaSettlement implements MalformedDelivery {
  readonly kind = 'malformed';
  constructor(
    queue: string,
    deliveryCount: number,
    part: WorkPartition,
    record: TransportRecord,
    settler: Settler,
    readonly raw: string,
    readonly error: DecodeError,
  ) {
    super(queue, deliveryCount, part, record, settler);
  }
}

/** A delivery of a decoded record of `part`. */
export function createDelivery(
  queue: string,
  deliveryCount: number,
  decoded: DecodedRecord,
  part: WorkPartition,
  record: TransportRecord,
  settler: Settler,
): Delivery {
  return decoded.kind === 'task'
    ? new KafkaTaskDelivery(queue, deliveryCount, part, record, settler, decoded.message)
    : new KafkaMalformedDelivery(queue, deliveryCount, part, record, settler, decoded.raw, decoded.error);
}

import type { CarriedStore } from './adapter/carried-store.js';
import type { CeleriacError, DecodeError } from './errors.js';
import type { TaskMessage } from './message.js';

/**
 * What a broker adapter supports. Declared by the adapter, never detected at runtime; the
 * conformance suite reads it, skipping (visibly) what is declared absent and requiring the rest.
 */
export interface BrokerCapabilities {
  /** Delayed delivery held by the broker, never in worker memory. */
  readonly delay: boolean;
  /** Per-message priority honoured across waiting messages. */
  readonly priority: boolean;
  /** Distinct priority levels honoured (e.g. 4 buckets on Redis as kombu, 10 on RabbitMQ). */
  readonly priorityLevels: number;
  /** `deadLetter()` keeps the message with its reason, and `readDeadLetters()` lists them. */
  readonly deadLetter: boolean;
  /** Dead letters can be put back on their queue with `redriveDeadLetters()`. */
  readonly redrive: boolean;
  /** A delivery left unsettled by a consumer that died or closed is delivered again. */
  readonly redeliveryOnConsumerDeath: boolean;
  /** Delivery order within one queue and priority level. */
  readonly ordering: 'fifo' | 'per-key' | 'none';
  /** `depth()` reports waiting messages. */
  readonly depth: boolean;
  /** `purge()` removes waiting messages. */
  readonly purge: boolean;
  /** Largest encoded message the broker accepts, in bytes. */
  readonly maxMessageBytes: number;
}

/** One message to publish. */
export interface OutgoingMessage {
  readonly queue: string;
  readonly message: TaskMessage;
  /** Hold the message in the broker's delayed store for this long before it can be consumed. */
  readonly delayMs?: number;
  /** Messages with the same key keep their relative order where the broker partitions (Kafka). */
  readonly orderingKey?: string;
}

/** Why a message went to the dead-letter place. */
export interface DeadLetterReason {
  /** Stable code, e.g. `MESSAGE_UNDECODABLE`, `TASK_NOT_REGISTERED`, `DELIVERY_LIMIT`. */
  readonly code: string;
  readonly message: string;
}

/** A message kept in the dead-letter place. */
export interface DeadLetter {
  readonly queue: string;
  readonly reason: DeadLetterReason;
  /** The message as it was received, undecoded (so even garbage is kept). */
  readonly raw: string;
  /** When it was dead-lettered. */
  readonly at: Date;
}

/**
 * Settlement shared by every delivery.
 *
 * @remarks
 * The settlement rule, the same on every broker (adapters share `SettleOnce` from
 * `@celeriac/core/adapter`, which implements it):
 *
 * - A delivery is settled once: the first `ack`, `requeue` or `deadLetter` that succeeds decides
 *   its fate. Any settle call after that resolves at once and does nothing.
 * - A settle call made while another one is in flight does nothing of its own and returns the
 *   promise of the one in flight, so it learns that outcome.
 * - A settle call that rejects leaves the delivery unsettled: the message is still held for the
 *   caller, who may settle it again (e.g. requeue it after a failed ack). Until it is settled it
 *   keeps its place among the consumer's unsettled deliveries.
 * - Once its consumer has returned it to the queue (`Consumer.close()`, a lost connection), a
 *   delivery is out of the caller's hands: settling it resolves and does nothing.
 */
export interface DeliverySettlement {
  /** Queue the message was consumed from. */
  readonly queue: string;
  /** 1 on first delivery; grows on every redelivery (requeue, crash recovery). */
  readonly deliveryCount: number;
  /**
   * Done: remove the message for good. Call only after its outcome is stored, or pass the store
   * in `options.store` when {@link DeliverySettlement.carries} accepts it: the broker then runs
   * it first, in the same call.
   */
  ack(options?: AckOptions): Promise<void>;
  /**
   * Whether `ack({ store })` runs this result write in the same broker call (the broker settles on
   * the server the write is for). Absent or `false`: store it first, then ack.
   */
  carries?(store: CarriedStore): boolean;
  /** Put the message back, optionally after a broker-held delay. */
  requeue(options?: { readonly delayMs?: number }): Promise<void>;
  /** Remove the message from the queue into the dead-letter place, with the reason. */
  deadLetter(reason: DeadLetterReason): Promise<void>;
  /**
   * Optional hint: the handler has finished and only storing the outcome and settling are left.
   * The delivery still counts until it is settled, but no longer takes a processing slot, so a
   * broker may fetch its replacement now: at most `prefetch` unsettled deliveries are still being
   * processed. Brokers whose server counts every unacknowledged message leave it out.
   */
  handled?(): void;
}

/** Options of {@link DeliverySettlement.ack}. */
export interface AckOptions {
  /** A result write the broker runs before the ack, in the same call (see `carries`). */
  readonly store?: CarriedStore;
}

/** A delivery that decoded into a task message. */
export interface TaskDelivery extends DeliverySettlement {
  readonly kind: 'task';
  readonly message: TaskMessage;
}

/** A delivery that could not be decoded; the worker dead-letters it with the error. */
export interface MalformedDelivery extends DeliverySettlement {
  readonly kind: 'malformed';
  readonly raw: string;
  readonly error: DecodeError;
  /**
   * The task id the message names, when it could be read although the message did not decode
   * (`error.taskId`): the worker stores the FAILURE under it, so the task's caller fails fast.
   */
  readonly taskId?: string | undefined;
}

/** What a consumer hands to its callback. */
export type Delivery = TaskDelivery | MalformedDelivery;

/** Options for {@link Broker.consume}. */
export interface ConsumeOptions {
  readonly queues: readonly string[];
  /**
   * Most unsettled deliveries held at once. The worker passes its free slots (concurrency plus an
   * explicit small prefetch), so a busy worker never reserves work another worker could take.
   */
  readonly prefetch: number;
  readonly onDelivery: (delivery: Delivery) => void;
  /**
   * The delivery limit the consumer's owner enforces itself: it dead-letters a delivery whose
   * `deliveryCount` is above this, and stores a FAILURE first so a waiting caller fails fast (the
   * worker passes its `maxDeliveries`). A broker must therefore hand such a delivery out rather than
   * drop or dead-letter it on its own; a broker-side limit may only stay as a crash-loop backstop
   * set above this one. Unset: the broker's own limit, if any, applies.
   */
  readonly maxDeliveries?: number;
  /** Transport errors the consumer recovered from (e.g. it reconnected), for logs. */
  readonly onError?: (error: CeleriacError) => void;
}

/** A running consumer. */
export interface Consumer {
  /** Change the number of unsettled deliveries allowed (e.g. concurrency changed). */
  setPrefetch(prefetch: number): void;
  /** Stop fetching new messages. Deliveries already handed out stay valid and must be settled. */
  pause(): Promise<void>;
  /** Fetch again after `pause()`. */
  resume(): void;
  /**
   * Stop fetching and release the consumer. Deliveries still unsettled are returned to their
   * queue so nothing is lost (they may be delivered again to another consumer).
   */
  close(): Promise<void>;
}

/**
 * A message broker: queues of Celery v2 task messages.
 *
 * @remarks
 * Adapters only encode the message into their transport's envelope; the message model is the core's.
 * Results are not the broker's concern (see `ResultBackend`).
 */
export interface Broker {
  /** Adapter name for messages and logs, e.g. `redis`. */
  readonly name: string;
  readonly capabilities: BrokerCapabilities;
  /** Resolves once the broker has the message (confirmed where the transport can confirm). */
  publish(message: OutgoingMessage): Promise<void>;
  /** Publishes many messages in as few round trips as the transport allows. */
  publishMany(messages: readonly OutgoingMessage[]): Promise<void>;
  consume(options: ConsumeOptions): Promise<Consumer>;
  /** Waiting (ready) messages in the queue, excluding delayed and in-flight ones. */
  depth(queue: string): Promise<number>;
  /** Removes waiting and delayed messages; returns how many were removed. */
  purge(queue: string): Promise<number>;
  /** Dead letters of a queue, oldest first. */
  readDeadLetters(queue: string, limit?: number): Promise<DeadLetter[]>;
  /** Moves every dead letter of a queue back onto it; returns how many moved. */
  redriveDeadLetters(queue: string): Promise<number>;
  close(): Promise<void>;
}

import type {
  AckOptions,
  DeadLetterReason,
  Delivery,
  DeliverySettlement,
  MalformedDelivery,
  TaskDelivery,
} from '../broker.js';
import { type DecodeError, UnsupportedError } from '../errors.js';
import type { TaskMessage } from '../message.js';
import type { CarriedStore } from './carried-store.js';
import type { DecodedMessage } from './decode-or-malformed.js';

/**
 * What an adapter does to settle one message it holds (`H`: the adapter's own record of it). Each
 * method is called at most once at a time per delivery, and never after a settlement succeeded.
 *
 * Return a promise that resolves once the broker has the outcome and rejects if it may not: the
 * delivery then stays unsettled and must stay held, so its caller can settle it again. Return
 * `undefined` when the settlement is already complete (nothing to wait for, no promise allocated),
 * including when the consumer has returned the message already and there is nothing left to do.
 */
export interface Settler<H> {
  /** Acks; with `store`, runs that result write first in the same call (only when `carries` said so). */
  ack(held: H, store?: CarriedStore): Promise<void> | undefined;
  /** Whether `ack(held, store)` can run this write (see {@link DeliverySettlement.carries}). */
  carries?(held: H, store: CarriedStore): boolean;
  requeue(held: H, delayMs: number): Promise<void> | undefined;
  deadLetter(held: H, reason: DeadLetterReason): Promise<void> | undefined;
  /** See {@link DeliverySettlement.handled}; called only while the delivery is unsettled. */
  handled?(held: H): void;
}

const PENDING = 0;
const SETTLED = 1;

/** Shared by every settlement complete at once: nothing in it to wait for. */
const DONE: Promise<void> = Promise.resolve();

/**
 * The settlement rule of {@link DeliverySettlement}, written once: settle once, share a settlement
 * in flight, and return to unsettled when a settlement fails. Methods live on the prototype, so a
 * delivery costs one object, not a closure per method.
 */
export abstract class SettleOnce<H> implements DeliverySettlement {
  /** Unsettled, settled, or the settlement in flight. */
  private state: typeof PENDING | typeof SETTLED | Promise<void> = PENDING;

  constructor(
    readonly queue: string,
    readonly deliveryCount: number,
    /** The adapter's record of the message. */
    protected readonly held: H,
    private readonly settler: Settler<H>,
  ) {}

  ack(options?: AckOptions): Promise<void> {
    const store = options?.store;
    if (store === undefined) return this.settle(() => this.settler.ack(this.held));
    // Never drop a result: a write this broker cannot run fails the ack, and nothing is settled.
    if (!this.carries(store))
      return Promise.reject(new UnsupportedError('broker', `carrying a store for ${store.target}`));
    return this.settle(() => this.settler.ack(this.held, store));
  }

  carries(store: CarriedStore): boolean {
    return this.settler.carries?.(this.held, store) ?? false;
  }

  requeue(options?: { readonly delayMs?: number }): Promise<void> {
    const delayMs = options?.delayMs ?? 0;
    return this.settle(() => this.settler.requeue(this.held, delayMs));
  }

  deadLetter(reason: DeadLetterReason): Promise<void> {
    return this.settle(() => this.settler.deadLetter(this.held, reason));
  }

  handled(): void {
    if (this.state === PENDING) this.settler.handled?.(this.held);
  }

  /** Runs a settlement unless one succeeded already or is in flight. */
  private settle(run: () => Promise<void> | undefined): Promise<void> {
    const state = this.state;
    if (state === SETTLED) return DONE;
    if (state !== PENDING) return state;
    let running: Promise<void> | undefined;
    try {
      running = run();
    } catch (error) {
      // An adapter that throws instead of rejecting still leaves the delivery unsettled.
      running = Promise.reject(error);
    }
    if (running === undefined) {
      this.state = SETTLED;
      return DONE;
    }
    const inFlight = running.then(
      () => {
        this.state = SETTLED;
      },
      (error: unknown) => {
        // Set before the caller hears of the failure, so its next settle call runs.
        this.state = PENDING;
        throw error;
      },
    );
    this.state = inFlight;
    return inFlight;
  }
}

/** A delivery that decoded into a task message, settled by its adapter's {@link Settler}. */
export class SettleOnceTask<H> extends SettleOnce<H> implements TaskDelivery {
  readonly kind = 'task';
  constructor(
    queue: string,
    deliveryCount: number,
    held: H,
    settler: Settler<H>,
    readonly message: TaskMessage,
  ) {
    super(queue, deliveryCount, held, settler);
  }
}

/** A delivery that could not be decoded, settled by its adapter's {@link Settler}. */
export class SettleOnceMalformed<H> extends SettleOnce<H> implements MalformedDelivery {
  readonly kind = 'malformed';
  constructor(
    queue: string,
    deliveryCount: number,
    held: H,
    settler: Settler<H>,
    readonly raw: string,
    readonly error: DecodeError,
  ) {
    super(queue, deliveryCount, held, settler);
  }

  /** The id the undecodable message names, if any; read from the error, so it costs no field. */
  get taskId(): string | undefined {
    return this.error.taskId;
  }
}

/**
 * The delivery of one held message: a task delivery, or a malformed one carrying its raw text so
 * it can be dead-lettered. Pair with {@link decodeOrMalformed}.
 */
export function createDelivery<H>(
  decoded: DecodedMessage,
  queue: string,
  deliveryCount: number,
  held: H,
  settler: Settler<H>,
): Delivery {
  return decoded.kind === 'task'
    ? new SettleOnceTask(queue, deliveryCount, held, settler, decoded.message)
    : new SettleOnceMalformed(queue, deliveryCount, held, settler, decoded.raw, decoded.error);
}

import type { Broker, BrokerCapabilities } from '@celeriac/core';
import {
  type Consumer,
  createTaskMessage,
  type Delivery,
  type TaskMessageInit,
} from '@celeriac/core/adapter';

/** How a broker adapter plugs into {@link describeBroker}. */
export interface BrokerSuiteOptions {
  /** A fresh broker instance. May be called several times at once (producer and consumers). */
  readonly create: () => Broker | Promise<Broker>;
  /** The capabilities the adapter declares; absent ones are skipped visibly, present ones must pass. */
  readonly capabilities: BrokerCapabilities;
  /** Puts raw bytes on a queue as a foreign producer would; enables the malformed-message tests. */
  readonly injectRaw?: (queue: string, raw: string) => Promise<void>;
  /** Kills a broker instance abruptly, without returning unsettled deliveries. Defaults to `close()`. */
  readonly simulateCrash?: (broker: Broker) => Promise<void>;
  /**
   * Makes settling fail on `broker` (e.g. by cutting its connection) until the returned function
   * undoes it; enables the test that a failed settlement leaves the delivery unsettled. Leave it out
   * where a settlement cannot fail.
   */
  readonly interruptSettlement?: (broker: Broker) => Promise<() => Promise<void>>;
  readonly timing?: {
    /** How long until a crashed consumer's deliveries come back. @default 10_000 */
    readonly redeliveryAfterCrashMs?: number;
    /** Upper bound for any single delivery to arrive. @default 10_000 */
    readonly deliveryMs?: number;
  };
  /** Runs once after the suite. */
  readonly cleanup?: () => Promise<void>;
}

/** A consumer that records what it receives. */
export interface Recorder {
  readonly consumer: Consumer;
  readonly deliveries: Delivery[];
}

/** Shared state and helpers of one suite run. */
export class BrokerSuiteContext {
  private readonly brokers: Broker[] = [];
  constructor(readonly options: BrokerSuiteOptions) {}

  get deliveryMs(): number {
    return this.options.timing?.deliveryMs ?? 10_000;
  }

  /** A broker instance, closed after the test. */
  async broker(): Promise<Broker> {
    const b = await this.options.create();
    this.brokers.push(b);
    return b;
  }

  /** Consumes `queues`, recording every delivery. */
  async record(broker: Broker, queues: string | string[], prefetch = 10): Promise<Recorder> {
    const deliveries: Delivery[] = [];
    const consumer = await broker.consume({
      queues: Array.isArray(queues) ? queues : [queues],
      prefetch,
      onDelivery: (d) => deliveries.push(d),
    });
    return { consumer, deliveries };
  }

  async closeAll(): Promise<void> {
    const all = this.brokers.splice(0);
    await Promise.allSettled(all.map((b) => b.close()));
  }
}

/** A task message for tests. */
export function testMessage(init: Partial<TaskMessageInit> = {}) {
  return createTaskMessage({ task: 'testkit.noop', kwargs: {}, ...init });
}

/** The task id of a delivery, or the raw text of a malformed one. */
export function idOf(d: Delivery): string {
  return d.kind === 'task' ? d.message.headers.id : `malformed:${d.raw}`;
}

import type { BrokerCapabilities, OutgoingMessage } from '../src/broker.js';
import { MemoryBroker, memoryBrokerCapabilities } from '../src/memory/memory-broker.js';

/**
 * The real in-memory broker, recording what it is asked to publish; it may declare other
 * capabilities than its own (e.g. `priority: false`, as Kafka does) to test what callers make of them.
 */
export class RecordingBroker extends MemoryBroker {
  readonly sent: OutgoingMessage[] = [];
  /** The size of each `publishMany` call. */
  readonly batches: number[] = [];
  override readonly capabilities: BrokerCapabilities;

  constructor(capabilities: Partial<BrokerCapabilities> = {}) {
    super();
    this.capabilities = { ...memoryBrokerCapabilities, ...capabilities };
  }

  override publish(message: OutgoingMessage): Promise<void> {
    this.sent.push(message);
    return super.publish(message);
  }

  override publishMany(messages: readonly OutgoingMessage[]): Promise<void> {
    this.batches.push(messages.length);
    this.sent.push(...messages);
    return super.publishMany(messages);
  }
}

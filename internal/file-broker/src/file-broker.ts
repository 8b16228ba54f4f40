import {
  type Broker,
  BrokerError,
  ClosedError,
  type ConsumeOptions,
  type Consumer,
  type DeadLetter,
  type OutgoingMessage,
} from '@celeriac/core/adapter';
import { fileBrokerCapabilities } from './capabilities.js';
import { FileConsumer } from './consumer.js';
import { encodeMessage } from './envelope.js';
import { ADAPTER, toCeleriacError } from './errors.js';
import { type FileBrokerOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { OwnerLease } from './owner-lease.js';
import { Store } from './store.js';

/**
 * A broker whose queues are directories of message files, shared by every process that opens the
 * same directory (on one machine or one shared file system with atomic renames).
 *
 * @example
 * ```ts
 * const broker = new FileBroker({ url: 'file:///var/spool/celeriac' });
 * ```
 */
export class FileBroker implements Broker {
  readonly name = ADAPTER;
  readonly capabilities = fileBrokerCapabilities;
  /** The directory holding the queues. */
  readonly directory: string;
  private readonly options: ResolvedOptions;
  private readonly store: Store;
  private readonly consumers = new Set<FileConsumer>();
  private closed = false;

  constructor(options: FileBrokerOptions) {
    this.options = resolveOptions(options);
    this.directory = this.options.directory;
    this.store = new Store(this.directory);
  }

  async publish(message: OutgoingMessage): Promise<void> {
    this.assertOpen();
    const text = encodeMessage(message.message);
    const bytes = Buffer.byteLength(text);
    if (bytes > this.capabilities.maxMessageBytes) {
      throw new BrokerError(
        ADAPTER,
        `message of ${bytes} bytes exceeds the limit of ${this.capabilities.maxMessageBytes}`,
        false,
      );
    }
    await this.run('publish', () => this.store.put(message.queue, text, message.delayMs ?? 0));
  }

  async publishMany(messages: readonly OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    // Every file is written and renamed independently; one round of them at once.
    await Promise.all(messages.map((m) => this.publish(m)));
  }

  /**
   * Puts raw text on a queue as a foreign producer would (it may not be a task message at all); a
   * consumer hands it out as a malformed delivery.
   */
  async publishRaw(queue: string, raw: string): Promise<void> {
    this.assertOpen();
    await this.run('publish', () => this.store.put(queue, raw, 0));
  }

  async consume(options: ConsumeOptions): Promise<Consumer> {
    this.assertOpen();
    const lease = new OwnerLease(this.store.owners, this.options.leaseMs);
    const consumer = new FileConsumer(this.store, lease, options, this.options.pollMs, (c) =>
      this.consumers.delete(c),
    );
    this.consumers.add(consumer);
    try {
      await consumer.start();
    } catch (error) {
      await consumer.close();
      throw toCeleriacError(error, 'starting a consumer');
    }
    return consumer;
  }

  depth(queue: string): Promise<number> {
    return this.run('depth', () => this.store.depth(queue));
  }

  purge(queue: string): Promise<number> {
    return this.run('purge', () => this.store.purge(queue));
  }

  readDeadLetters(queue: string, limit = Number.POSITIVE_INFINITY): Promise<DeadLetter[]> {
    return this.run('reading dead letters', () => this.store.readDeadLetters(queue, limit));
  }

  redriveDeadLetters(queue: string): Promise<number> {
    return this.run('redriving dead letters', () => this.store.redrive(queue));
  }

  /** Closes every consumer, which returns its unsettled messages; then every method rejects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.close()));
  }

  /**
   * Stops at once as if the process died: nothing is returned, and the consumers' held messages
   * come back to others when their leases run out.
   */
  destroy(): void {
    this.closed = true;
    for (const consumer of [...this.consumers]) consumer.destroy();
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError(`${ADAPTER} broker`);
  }

  private async run<T>(what: string, operation: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await operation();
    } catch (error) {
      throw toCeleriacError(error, `${what} failed`);
    }
  }
}

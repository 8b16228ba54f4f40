import type { Channel, ChannelModel } from 'amqplib';
import { replyCode } from './errors.js';

/**
 * One live AMQP connection and what was declared on it. A reconnect makes a new session, so
 * declarations are made again (the broker may have lost non-durable state, or been replaced).
 */
export class Session {
  alive = true;
  private readonly declared = new Map<string, Promise<void>>();
  private readonly done = new Set<string>();

  constructor(
    readonly model: ChannelModel,
    readonly generation: number,
  ) {}

  /** Whether `key` was declared successfully on this connection (no await on the hot path). */
  isDeclared(key: string): boolean {
    return this.done.has(key);
  }

  /** Runs `declare` once per connection for `key`; a failure is not cached, so the next call retries. */
  ensure(key: string, declare: () => Promise<void>): Promise<void> {
    let pending = this.declared.get(key);
    if (!pending) {
      pending = declare().then(
        () => {
          this.done.add(key);
        },
        (error: unknown) => {
          this.declared.delete(key);
          throw error;
        },
      );
      this.declared.set(key, pending);
    }
    return pending;
  }

  /** Forgets a declaration, e.g. after RabbitMQ cancelled a consumer because its queue was deleted. */
  forget(key: string): void {
    this.declared.delete(key);
    this.done.delete(key);
  }

  /**
   * Runs `fn` on a channel of its own, closed afterwards. A server error (406, 404) closes only
   * that channel, so declarations and inspections never take publishing or consuming down.
   */
  async withChannel<T>(fn: (channel: Channel) => Promise<T>): Promise<T> {
    const channel = await this.model.createChannel();
    let closed = false;
    // Errors reach us through the rejected operation; without a listener amqplib would throw.
    channel.on('error', () => {});
    channel.on('close', () => {
      closed = true;
    });
    try {
      return await fn(channel);
    } finally {
      if (!closed) await channel.close().catch(() => {});
    }
  }

  /**
   * Like {@link withChannel}, for a sequence of steps where a missing entity (404) is expected:
   * `step` returns `undefined` for a 404 and opens a fresh channel for the next step.
   */
  async withTolerantChannel<T>(
    fn: (step: <R>(op: (channel: Channel) => Promise<R>) => Promise<R | undefined>) => Promise<T>,
  ): Promise<T> {
    let current: Channel | undefined;
    let closed = true;
    const open = async (): Promise<Channel> => {
      if (current && !closed) return current;
      current = undefined;
      const channel = await this.model.createChannel();
      channel.on('error', () => {});
      channel.on('close', () => {
        if (current === channel) closed = true;
      });
      current = channel;
      closed = false;
      return channel;
    };
    const step = async <R>(op: (channel: Channel) => Promise<R>): Promise<R | undefined> => {
      const channel = await open();
      try {
        return await op(channel);
      } catch (error) {
        if (replyCode(error) !== 404) throw error;
        // The 404 closed the channel; the next step gets a fresh one.
        if (current === channel) current = undefined;
        return undefined;
      }
    };
    try {
      return await fn(step);
    } finally {
      if (current && !closed) await current.close().catch(() => {});
    }
  }
}

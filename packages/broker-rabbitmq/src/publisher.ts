import { BrokerError, type CeleriacError, ClosedError } from '@celeriac/core';
import type { Channel, ConfirmChannel, Message } from 'amqplib';
import { type PublishSpec, routeAtSend, topologyKey } from './codec.js';
import type { ConnectionManager } from './connection.js';
import { ADAPTER, toCeleriacError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import type { Session } from './session.js';
import { ensureDeadLetterQueue, ensureDelayChain, ensureEventExchange, ensureWorkQueue } from './topology.js';

interface Pending {
  readonly spec: PublishSpec;
  readonly resolve: () => void;
  readonly reject: (error: CeleriacError) => void;
  timer: NodeJS.Timeout | undefined;
  done: boolean;
  /** Times the channel closed with this message unconfirmed because of a server-side error. */
  serverFailures: number;
  /** RabbitMQ returned it (mandatory, unroutable) on the current attempt. */
  returned: boolean;
  /** Attempts RabbitMQ could not route anywhere. */
  unroutable: number;
  /** Where the current attempt went (a delayed message's route depends on when it is sent). */
  route: { exchange: string; routingKey: string } | undefined;
}

/** A publish the broker refused or lost this many times with a channel error is given up. */
const MAX_SERVER_FAILURES = 3;
/** Declaring again did not make it routable this many times: give up loudly. */
const MAX_UNROUTABLE = 3;

/**
 * Publishes on one (confirm) channel per connection. Each publish stays pending until RabbitMQ
 * confirms it: messages sent but unconfirmed when the channel or connection drops are sent again
 * on the next one (at-least-once), and publishes made while disconnected wait in a bounded
 * buffer. A publish that cannot be confirmed within `publishTimeoutMs` fails, retriable.
 */
export class Publisher {
  private readonly waiting: Pending[] = [];
  private readonly inFlight = new Set<Pending>();
  private channel: Channel | ConfirmChannel | undefined;
  private channelSession: Session | undefined;
  private opening = false;
  private pumping = false;
  private closed = false;
  private lastChannelError: unknown;
  private reopenTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: ConnectionManager,
    private readonly options: ResolvedOptions,
  ) {
    connection.onUp(() => {
      // Opened eagerly, so the first publish (often a dead letter or a retry) does not pay for it.
      void this.openChannel().then(() => this.kick());
    });
    connection.onFatal((error) => {
      for (const pending of this.waiting.splice(0)) this.settle(pending, error);
    });
  }

  /** Resolves once RabbitMQ confirmed the message (or wrote it, with confirms off). */
  publish(spec: PublishSpec): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('rabbitmq broker'));
    if (this.connection.failure) return Promise.reject(this.connection.failure);
    if (spec.content.length > this.options.maxMessageBytes) {
      return Promise.reject(
        new BrokerError(
          ADAPTER,
          `message of ${spec.content.length} bytes exceeds maxMessageBytes (${this.options.maxMessageBytes})`,
          false,
        ),
      );
    }
    if (!this.channel && this.waiting.length >= this.options.maxBufferedPublishes) {
      return Promise.reject(
        new BrokerError(
          ADAPTER,
          `not connected and ${this.waiting.length} publishes are already buffered (maxBufferedPublishes); try again once RabbitMQ is reachable`,
          true,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const pending: Pending = {
        spec,
        resolve,
        reject,
        timer: undefined,
        done: false,
        serverFailures: 0,
        returned: false,
        unroutable: 0,
        route: undefined,
      };
      pending.timer = setTimeout(() => this.expire(pending), this.options.publishTimeoutMs);
      this.waiting.push(pending);
      this.kick();
    });
  }

  /** Publishes all and waits for every confirm; rejects with the first failure once all settled. */
  async publishAll(specs: readonly PublishSpec[]): Promise<void> {
    const results = await Promise.allSettled(specs.map((spec) => this.publish(spec)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private settle(pending: Pending, error?: CeleriacError): void {
    if (pending.done) return;
    pending.done = true;
    if (pending.timer) clearTimeout(pending.timer);
    this.inFlight.delete(pending);
    if (error) pending.reject(error);
    else pending.resolve();
  }

  private expire(pending: Pending): void {
    if (pending.done) return;
    const index = this.waiting.indexOf(pending);
    if (index >= 0) this.waiting.splice(index, 1);
    const state = this.inFlight.has(pending)
      ? 'sent but not confirmed; it may or may not have been stored'
      : this.connection.session
        ? 'not sent yet'
        : 'not sent: the connection to RabbitMQ is down';
    this.settle(
      pending,
      new BrokerError(
        ADAPTER,
        `publish not confirmed within ${this.options.publishTimeoutMs} ms (${state})`,
        true,
        {
          cause: this.lastChannelError,
        },
      ),
    );
  }

  private kick(): void {
    if (this.closed || this.pumping || this.waiting.length === 0) return;
    void this.pump();
  }

  /** Opens the publishing channel on the current session, if there is one. */
  private async openChannel(): Promise<Channel | ConfirmChannel | undefined> {
    if (this.channel) return this.channel;
    const session = this.connection.session;
    if (!session || this.opening) return undefined;
    this.opening = true;
    try {
      const channel = this.options.confirm
        ? await session.model.createConfirmChannel()
        : await session.model.createChannel();
      let serverError = false;
      channel.on('error', (error: unknown) => {
        // Only a server-side channel error emits this; a dropped connection closes channels silently.
        serverError = true;
        this.lastChannelError = error;
      });
      channel.on('close', () => this.channelClosed(channel, serverError));
      channel.on('return', (msg: Message) => this.returned(msg));
      this.channel = channel;
      this.channelSession = session;
      return channel;
    } catch (error) {
      this.lastChannelError = error;
      this.scheduleReopen();
      return undefined;
    } finally {
      this.opening = false;
    }
  }

  private channelClosed(channel: Channel, serverSide: boolean): void {
    if (this.channel !== channel) return;
    this.channel = undefined;
    this.channelSession = undefined;
    // Confirm callbacks ran just before this with "channel closed": those messages are in doubt,
    // so they go back to the front of the line, in their original order.
    const back = [...this.inFlight].filter((p) => !p.done);
    this.inFlight.clear();
    const resend: Pending[] = [];
    for (const pending of back) {
      if (serverSide) pending.serverFailures += 1;
      if (pending.serverFailures >= MAX_SERVER_FAILURES) {
        this.settle(
          pending,
          toCeleriacError(this.lastChannelError ?? new Error('channel closed'), 'publishing'),
        );
      } else {
        resend.push(pending);
      }
    }
    this.waiting.unshift(...resend);
    if (serverSide) {
      // A 404 (an exchange deleted behind our back) means our declarations are stale: redo them.
      for (const pending of resend) this.connection.session?.forget(topologyKey(pending.spec.needs));
      this.scheduleReopen();
    }
  }

  private scheduleReopen(): void {
    if (this.reopenTimer || this.closed) return;
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      this.kick();
    }, 200);
  }

  private async ensureTopology(session: Session, spec: PublishSpec): Promise<void> {
    const { needs } = spec;
    switch (needs.kind) {
      case 'queue':
        return ensureWorkQueue(session, needs.queue, this.options);
      case 'delay':
        return ensureDelayChain(session, needs.queue, this.options, needs.tier);
      case 'dead-letter':
        return ensureDeadLetterQueue(session, needs.queue, this.options);
      case 'events':
        return ensureEventExchange(session);
    }
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.waiting.length > 0 && !this.closed) {
        const channel = await this.openChannel();
        const session = this.channelSession;
        if (!channel || !session) return; // the next connection (onUp) or reopen timer kicks again
        const pending = this.waiting[0] as Pending;
        if (pending.done) {
          this.waiting.shift();
          continue;
        }
        if (!session.isDeclared(topologyKey(pending.spec.needs))) {
          try {
            await this.ensureTopology(session, pending.spec);
          } catch (error) {
            const failure = toCeleriacError(error, 'declaring the topology');
            if (!failure.retriable) {
              // A 406 or a refused name will not fix itself: fail this publish, keep the rest going.
              this.waiting.splice(this.waiting.indexOf(pending), 1);
              this.settle(pending, failure);
            } else {
              this.lastChannelError = error;
              this.scheduleReopen();
              return;
            }
            continue;
          }
          if (this.channel !== channel) continue;
        }
        this.waiting.shift();
        if (pending.done) continue;
        const writable = this.send(channel, pending);
        if (!writable) await this.drained(channel);
      }
    } finally {
      this.pumping = false;
    }
    // Publishes may have arrived while the last await was pending.
    if (this.waiting.length > 0 && this.channel) this.kick();
  }

  private send(channel: Channel | ConfirmChannel, pending: Pending): boolean {
    const { exchange, routingKey, content } = routeAtSend(pending.spec);
    pending.route = { exchange, routingKey };
    // Mandatory: a message no queue takes (a queue deleted behind our back) comes back instead of
    // vanishing. Not for events: with no monitor listening, nobody is meant to take them.
    const options = { ...pending.spec.options, mandatory: pending.spec.needs.kind !== 'events' };
    pending.returned = false;
    this.inFlight.add(pending);
    try {
      if (!this.options.confirm) {
        const ok = channel.publish(exchange, routingKey, content, options);
        this.settle(pending);
        return ok;
      }
      return (channel as ConfirmChannel).publish(exchange, routingKey, content, options, (err: unknown) => {
        if ((err === null || err === undefined) && pending.returned) return this.unroutable(pending);
        if (err === null || err === undefined) return this.settle(pending);
        if (err instanceof Error && err.message === 'message nacked') {
          return this.settle(
            pending,
            new BrokerError(ADAPTER, 'RabbitMQ refused the message (basic.nack); publish it again', true),
          );
        }
        // "channel closed": handled in channelClosed, which re-sends it.
      });
    } catch (error) {
      // amqplib throws synchronously on a closed channel, or on a header table over 64 KiB.
      this.inFlight.delete(pending);
      if (error instanceof RangeError) {
        this.settle(
          pending,
          new BrokerError(ADAPTER, `cannot encode the message: ${error.message}`, false, { cause: error }),
        );
      } else {
        this.waiting.unshift(pending);
      }
      return true;
    }
  }

  /** basic.return comes just before the confirm of the same message: mark it, oldest match first. */
  private returned(msg: Message): void {
    const id: unknown = msg.properties.headers?.id;
    for (const pending of this.inFlight) {
      const { spec } = pending;
      if (
        !pending.returned &&
        pending.route?.exchange === msg.fields.exchange &&
        pending.route.routingKey === msg.fields.routingKey &&
        (spec.options.headers as { id?: unknown } | undefined)?.id === id &&
        spec.content.equals(msg.content)
      ) {
        pending.returned = true;
        return;
      }
    }
  }

  private unroutable(pending: Pending): void {
    this.inFlight.delete(pending);
    pending.unroutable += 1;
    if (pending.unroutable >= MAX_UNROUTABLE) {
      const { exchange, routingKey } = pending.route ?? pending.spec;
      this.settle(
        pending,
        new BrokerError(
          ADAPTER,
          `RabbitMQ could not route the message (exchange "${exchange}", key "${routingKey}")`,
          false,
        ),
      );
      return;
    }
    this.connection.session?.forget(topologyKey(pending.spec.needs));
    this.waiting.unshift(pending);
    this.kick();
  }

  private drained(channel: Channel): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        channel.off('drain', done);
        channel.off('close', done);
        resolve();
      };
      channel.on('drain', done);
      channel.on('close', done);
    });
  }

  /** Waits (up to `timeoutMs`) for pending publishes, then fails the rest and closes the channel. */
  async close(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (
      (this.waiting.length > 0 || this.inFlight.size > 0) &&
      Date.now() < deadline &&
      this.connection.session
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    this.closed = true;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    for (const pending of [...this.waiting, ...this.inFlight])
      this.settle(pending, new ClosedError('rabbitmq broker'));
    this.waiting.length = 0;
    const channel = this.channel;
    this.channel = undefined;
    if (channel) await channel.close().catch(() => {});
  }
}

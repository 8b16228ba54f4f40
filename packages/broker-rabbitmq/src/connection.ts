import { BrokerError, type CeleriacError, ClosedError, ConfigError } from '@celeriac/core';
import { redactUrl } from '@celeriac/core/adapter';
import { type ChannelModel, connect } from 'amqplib';
import { ADAPTER, describeConnectError, isFatalConnectError, toCeleriacError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { Session } from './session.js';

interface Waiter {
  readonly resolve: (session: Session) => void;
  readonly reject: (error: CeleriacError) => void;
  readonly timer: NodeJS.Timeout;
}

/** The socket under an amqplib connection; reached only to simulate a crash. */
interface WithStream {
  readonly connection?: { readonly stream?: { destroy(): void } };
}

/** Adds the defaults we want (heartbeat, connection name) to the URL without overriding the user's. */
function connectUrl(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', '30');
  return parsed.toString();
}

/**
 * Keeps one AMQP connection up: connects lazily, reconnects with exponential backoff and jitter
 * when it drops, and tells listeners when a new {@link Session} is up or the current one is down.
 */
export class ConnectionManager {
  private current: Session | undefined;
  private connecting = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private generation = 0;
  private everConnected = false;
  private closed = false;
  private fatal: CeleriacError | undefined;
  private lastError: unknown;
  private readonly waiters = new Set<Waiter>();
  private readonly upListeners = new Set<(session: Session) => void>();
  private readonly downListeners = new Set<(error: CeleriacError) => void>();
  private readonly fatalListeners = new Set<(error: CeleriacError) => void>();
  private readonly target: string;

  constructor(private readonly options: ResolvedOptions) {
    this.target = redactUrl(options.url);
  }

  /** The live session, if connected right now. */
  get session(): Session | undefined {
    return this.current?.alive ? this.current : undefined;
  }

  /** Called with every new session (after a reconnect too). Returns an unsubscribe function. */
  onUp(listener: (session: Session) => void): () => void {
    this.upListeners.add(listener);
    return () => this.upListeners.delete(listener);
  }

  /** Called when the connection drops (not on `close()`). Returns an unsubscribe function. */
  onDown(listener: (error: CeleriacError) => void): () => void {
    this.downListeners.add(listener);
    return () => this.downListeners.delete(listener);
  }

  /** Called once if connecting can never succeed (login or vhost refused, bad TLS certificate). */
  onFatal(listener: (error: CeleriacError) => void): () => void {
    this.fatalListeners.add(listener);
    return () => this.fatalListeners.delete(listener);
  }

  /** Why connecting was given up, if it was. */
  get failure(): CeleriacError | undefined {
    return this.fatal;
  }

  /** Resolves with a live session, connecting if needed; rejects after `timeoutMs`. */
  whenConnected(timeoutMs = this.options.connectTimeoutMs): Promise<Session> {
    if (this.closed) return Promise.reject(new ClosedError('rabbitmq broker'));
    if (this.fatal) return Promise.reject(this.fatal);
    const live = this.session;
    if (live) return Promise.resolve(live);
    this.start();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(this.unreachable(timeoutMs));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Starts connecting (idempotent). */
  start(): void {
    if (this.closed || this.fatal || this.current?.alive || this.connecting || this.retryTimer) return;
    void this.connectOnce();
  }

  private unreachable(timeoutMs: number): BrokerError {
    const last = this.lastError instanceof Error ? `: ${this.lastError.message}` : '';
    return new BrokerError(
      ADAPTER,
      `no connection to ${this.target} within ${timeoutMs} ms (${this.attempt} attempts${last})`,
      true,
      { cause: this.lastError },
    );
  }

  private async connectOnce(): Promise<void> {
    this.connecting = true;
    let model: ChannelModel | undefined;
    try {
      model = await connect(connectUrl(this.options.url), {
        timeout: 10_000,
        // Small frames (acks, confirms) must not wait for Nagle's algorithm.
        noDelay: true,
        ...this.options.socketOptions,
        clientProperties: { connection_name: `celeriac broker-rabbitmq pid ${process.pid}` },
      });
    } catch (error) {
      this.connecting = false;
      this.lastError = error;
      if (!this.everConnected && isFatalConnectError(error)) {
        this.fail(new ConfigError(`rabbitmq: ${describeConnectError(error, this.target)}`, { cause: error }));
        return;
      }
      this.scheduleRetry();
      return;
    }
    this.connecting = false;
    if (this.closed) {
      await model.close().catch(() => {});
      return;
    }
    const session = new Session(model, ++this.generation);
    model.on('error', (error: unknown) => {
      this.lastError = error;
    });
    model.on('close', (error?: unknown) => this.lost(session, error));
    this.current = session;
    this.attempt = 0;
    this.everConnected = true;
    for (const waiter of [...this.waiters]) {
      clearTimeout(waiter.timer);
      this.waiters.delete(waiter);
      waiter.resolve(session);
    }
    for (const listener of [...this.upListeners]) listener(session);
  }

  private lost(session: Session, error: unknown): void {
    if (!session.alive) return;
    session.alive = false;
    if (this.current === session) this.current = undefined;
    if (this.closed) return;
    this.lastError = error ?? this.lastError;
    const reason = toCeleriacError(
      error ?? new Error('connection closed'),
      `the connection to ${this.target}`,
    );
    const down = new BrokerError(
      ADAPTER,
      `connection to ${this.target} lost; reconnecting (${reason.message})`,
      true,
      {
        cause: error,
      },
    );
    for (const listener of [...this.downListeners]) listener(down);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    const base = Math.min(
      this.options.reconnectMaxDelayMs,
      this.options.reconnectInitialDelayMs * 2 ** Math.min(this.attempt, 30),
    );
    this.attempt += 1;
    // ±20 % jitter so a fleet does not reconnect in lockstep after a broker restart.
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.start();
    }, delay);
  }

  private fail(error: CeleriacError): void {
    this.fatal = error;
    for (const listener of [...this.fatalListeners]) listener(error);
    for (const waiter of [...this.waiters]) {
      clearTimeout(waiter.timer);
      this.waiters.delete(waiter);
      waiter.reject(error);
    }
  }

  /** Closes the connection for good; pending waiters fail with {@link ClosedError}. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const waiter of [...this.waiters]) {
      clearTimeout(waiter.timer);
      waiter.reject(new ClosedError('rabbitmq broker'));
    }
    this.waiters.clear();
    const session = this.current;
    this.current = undefined;
    if (session?.alive) {
      session.alive = false;
      await session.model.close().catch(() => {});
    }
  }

  /** Drops the socket without any AMQP goodbye, as a crashed process would, and stops reconnecting. */
  destroy(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const session = this.current;
    this.current = undefined;
    if (session) {
      session.alive = false;
      (session.model as unknown as WithStream).connection?.stream?.destroy();
    }
  }
}

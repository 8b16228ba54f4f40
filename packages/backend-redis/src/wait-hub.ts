import { ClosedError, READY_STATES, type ResultMeta, ResultTimeoutError } from '@celeriac/core';
import { TickBatcher, type WaitOptions } from '@celeriac/core/adapter';
import type { Redis } from 'ioredis';

interface Waiter {
  resolve(meta: ResultMeta): void;
  reject(error: unknown): void;
}

/** Everyone waiting on one task id, behind one channel subscription. */
interface Watch {
  readonly taskId: string;
  /** Celery's channel and key are the same string: `celery-task-meta-<id>`. */
  readonly key: string;
  readonly waiters: Set<Waiter>;
  subscribed: boolean;
  subscribing: boolean;
}

/** What the hub needs from its backend. */
export interface WaitHubDeps {
  /** Reads come from the primary, never a replica: a fresh result may not have replicated yet. */
  readonly primary: Redis;
  /** Opens the one subscriber connection; called lazily, at most once. */
  readonly openSubscriber: () => Redis;
  readonly keyOf: (taskId: string) => string;
  readonly decode: (text: string, taskId: string, key: string) => ResultMeta;
  readonly pollIntervalMs: number;
}

/** Counters for tests and health checks. */
export interface WaitDiagnostics {
  /** Subscriber connections opened by this backend so far (at most 1). */
  readonly subscriberConnections: number;
  /** Channels currently subscribed. */
  readonly subscribedChannels: number;
  /** Task ids with at least one pending `wait()`. */
  readonly watchedTasks: number;
  /** Pending `wait()` calls. */
  readonly waiters: number;
}

const MGET_CHUNK = 500;
/** Longest a left channel waits for its UNSUBSCRIBE. */
const UNSUBSCRIBE_WINDOW_MS = 20;
/** Channels that make an UNSUBSCRIBE go out at once. */
const UNSUBSCRIBE_BATCH = 500;
const noop = () => {};

/**
 * Serves every `wait()` of one backend from one pub/sub connection. Per task id: SUBSCRIBE, then
 * GET (so a result stored before the subscription is not missed), then wait for a message; the
 * subscription is dropped when the last waiter for that id leaves. A slow MGET poll covers
 * messages lost to a reconnect or a failed SUBSCRIBE.
 */
export class WaitHub {
  private subscriber: Redis | undefined;
  private subscriberConnections = 0;
  private readonly watches = new Map<string, Watch>();
  private readonly byKey = new Map<string, Watch>();
  private poller: NodeJS.Timeout | undefined;
  private closed = false;
  /** Channels to leave, sent together (see `unsubscribeSoon`). */
  private leaving: string[] = [];
  private leavingTimer: NodeJS.Timeout | undefined;
  /** Watches created in the same turn share one SUBSCRIBE and one MGET. */
  private readonly activations = new TickBatcher<Watch, void>(async (watches) => {
    await this.activate(watches);
    return watches.map(() => ({ ok: true, value: undefined }));
  }, MGET_CHUNK);

  constructor(private readonly deps: WaitHubDeps) {}

  /** Resolves with the meta once it is in a ready state. */
  wait(taskId: string, options: WaitOptions = {}): Promise<ResultMeta> {
    if (this.closed) return Promise.reject(new ClosedError('redis result backend'));
    const { signal, timeoutMs } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<ResultMeta>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        resolve: (meta) => {
          cleanup();
          resolve(meta);
        },
        reject: (error) => {
          cleanup();
          reject(error);
        },
      };
      const onAbort = () => {
        this.leave(taskId, waiter);
        waiter.reject(signal?.reason);
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.leave(taskId, waiter);
          waiter.reject(new ResultTimeoutError(taskId, timeoutMs));
        }, timeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.join(taskId, waiter);
    });
  }

  /** Current counters. */
  diagnostics(): WaitDiagnostics {
    let subscribed = 0;
    let waiters = 0;
    for (const w of this.watches.values()) {
      if (w.subscribed) subscribed++;
      waiters += w.waiters.size;
    }
    return {
      subscriberConnections: this.subscriberConnections,
      subscribedChannels: subscribed,
      watchedTasks: this.watches.size,
      waiters,
    };
  }

  /** Rejects every pending wait with `ClosedError` and closes the subscriber connection. */
  async close(): Promise<void> {
    this.closed = true;
    for (const watch of [...this.watches.values()]) {
      this.drop(watch);
      for (const w of watch.waiters) w.reject(new ClosedError('redis result backend'));
    }
    // The connection goes away with all its channels: nothing left to unsubscribe.
    clearTimeout(this.leavingTimer);
    this.leavingTimer = undefined;
    this.leaving = [];
    const sub = this.subscriber;
    this.subscriber = undefined;
    if (sub) await sub.quit().catch(() => sub.disconnect());
  }

  private join(taskId: string, waiter: Waiter): void {
    const existing = this.watches.get(taskId);
    if (existing) {
      existing.waiters.add(waiter);
      return;
    }
    const watch: Watch = {
      taskId,
      key: this.deps.keyOf(taskId),
      waiters: new Set([waiter]),
      subscribed: false,
      subscribing: false,
    };
    this.watches.set(taskId, watch);
    this.byKey.set(watch.key, watch);
    this.poller ??= setInterval(() => this.poll(), this.deps.pollIntervalMs).unref();
    this.activations.push(watch).catch(noop);
  }

  private async activate(watches: readonly Watch[]): Promise<void> {
    await this.subscribe(watches.filter((w) => this.isLive(w)));
    // Subscribed first, then read: a result stored before the SUBSCRIBE took effect is seen here,
    // anything stored after arrives as a message.
    await this.check(watches.filter((w) => this.isLive(w)));
  }

  private isLive(watch: Watch): boolean {
    return this.watches.get(watch.taskId) === watch;
  }

  private async subscribe(watches: readonly Watch[]): Promise<void> {
    if (watches.length === 0) return;
    for (const w of watches) w.subscribing = true;
    try {
      const sub = this.ensureSubscriber();
      // SUBSCRIBE before the connection is ready puts it in subscriber mode, and ioredis's own
      // ready check (INFO) then fails and rejects the SUBSCRIBE: wait for 'ready' first.
      if (sub.status !== 'ready') {
        await new Promise<void>((resolve, reject) => {
          sub.once('ready', () => resolve());
          sub.once('end', () => reject(new Error('subscriber connection ended')));
        });
      }
      await sub.subscribe(...watches.map((w) => w.key));
      for (const w of watches) w.subscribed = true;
    } catch {
      // The poller retries the subscription and reads the keys meanwhile.
    } finally {
      for (const w of watches) w.subscribing = false;
    }
  }

  private ensureSubscriber(): Redis {
    if (this.subscriber) return this.subscriber;
    const sub = this.deps.openSubscriber();
    this.subscriberConnections++;
    let connectedBefore = false;
    sub.on('error', noop);
    sub.on('message', (channel: string, text: string) => this.onMessage(channel, text));
    sub.on('ready', () => {
      // After a reconnect ioredis resubscribes, but messages sent during the gap are gone.
      if (connectedBefore) void this.check([...this.watches.values()]);
      connectedBefore = true;
    });
    this.subscriber = sub;
    return sub;
  }

  private onMessage(channel: string, text: string): void {
    const watch = this.byKey.get(channel);
    // The key, not the message, is the source of truth: a malformed message is ignored.
    if (watch) this.offer(watch, text, false);
  }

  /**
   * Settles a watch with `text` if it holds a ready meta; intermediate states are ignored. A value
   * read from the key that is not a meta fails the waiters (`rejectMalformed`).
   */
  private offer(watch: Watch, text: string, rejectMalformed: boolean): void {
    if (!this.isLive(watch)) return;
    let meta: ResultMeta;
    try {
      meta = this.deps.decode(text, watch.taskId, watch.key);
    } catch (error) {
      if (!rejectMalformed) return;
      this.drop(watch);
      for (const w of watch.waiters) w.reject(error);
      return;
    }
    if (!READY_STATES.has(meta.status)) return;
    this.drop(watch);
    let first = true;
    for (const w of watch.waiters) {
      // Each waiter gets its own copy, so no caller can mutate another's result.
      w.resolve(first ? meta : this.deps.decode(text, watch.taskId, watch.key));
      first = false;
    }
  }

  private async check(watches: readonly Watch[]): Promise<void> {
    for (let i = 0; i < watches.length; i += MGET_CHUNK) {
      const chunk = watches.slice(i, i + MGET_CHUNK);
      let texts: (string | null)[];
      try {
        texts = await this.deps.primary.mget(chunk.map((w) => w.key));
      } catch {
        continue; // Transient: the next poll reads again; each wait has its own timeout.
      }
      chunk.forEach((watch, j) => {
        const text = texts[j];
        if (text != null) this.offer(watch, text, true);
      });
    }
  }

  private poll(): void {
    const live = [...this.watches.values()];
    void this.subscribe(live.filter((w) => !w.subscribed && !w.subscribing));
    void this.check(live);
  }

  /**
   * Leaves a channel soon: UNSUBSCRIBE goes out for every channel left within
   * {@link UNSUBSCRIBE_WINDOW_MS} (or {@link UNSUBSCRIBE_BATCH} of them) as one command. Nothing
   * waits on it, and a producer awaiting thousands of results a second would otherwise spend a
   * socket write, and Redis a call, on each turn's handful of finished tasks.
   */
  private unsubscribeSoon(key: string): void {
    this.leaving.push(key);
    if (this.leaving.length >= UNSUBSCRIBE_BATCH) this.unsubscribeNow();
    else this.leavingTimer ??= setTimeout(() => this.unsubscribeNow(), UNSUBSCRIBE_WINDOW_MS).unref();
  }

  private unsubscribeNow(): void {
    clearTimeout(this.leavingTimer);
    this.leavingTimer = undefined;
    // A key watched again meanwhile keeps its channel (its SUBSCRIBE may already have gone out).
    const keys = this.leaving.filter((k) => !this.byKey.has(k));
    this.leaving = [];
    if (keys.length > 0 && this.subscriber) this.subscriber.unsubscribe(...keys).catch(noop);
  }

  private leave(taskId: string, waiter: Waiter): void {
    const watch = this.watches.get(taskId);
    if (!watch) return;
    watch.waiters.delete(waiter);
    if (watch.waiters.size === 0) this.drop(watch);
  }

  private drop(watch: Watch): void {
    if (!this.isLive(watch)) return;
    this.watches.delete(watch.taskId);
    this.byKey.delete(watch.key);
    // Also while SUBSCRIBE is in flight: commands on one connection run in order.
    if ((watch.subscribed || watch.subscribing) && this.subscriber) this.unsubscribeSoon(watch.key);
    if (this.watches.size === 0 && this.poller) {
      clearInterval(this.poller);
      this.poller = undefined;
    }
  }
}

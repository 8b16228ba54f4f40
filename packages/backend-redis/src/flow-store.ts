import {
  DEFAULT_LIST_LIMIT,
  type DedupeClaim,
  type DedupeMode,
  type FlowStore,
  type LeaseRef,
  matchesQuery,
  type RateRequest,
  type RateReservation,
  sinceOf,
  type TaskIndex,
  type TaskListQuery,
  type TaskSummary,
} from '@celeriac/core/adapter';
import type { Redis } from 'ioredis';
import { toCeleriacError } from './errors.js';
import type { FlowScriptClient } from './flow-scripts.js';

/** Where flow state lives, under a backend's global key prefix (as `keySpace` applies it). */
export interface FlowKeys {
  rate(key: string): string;
  slots(key: string): string;
  dedupe(key: string): string;
  /** The set of paused queues, and the channel pauses and resumes go on. */
  readonly paused: string;
  /** The task index: ids by time, and their entries. */
  readonly tasks: string;
  readonly taskEntries: string;
}

/** The flow keys under a backend's global key prefix. */
export function flowKeys(prefix: string): FlowKeys {
  const p = prefix === '' || /[:_\-.]$/.test(prefix) ? prefix : `${prefix}_`;
  return {
    rate: (key) => `${p}celeriac-rate:${key}`,
    slots: (key) => `${p}celeriac-slots:${key}`,
    dedupe: (key) => `${p}celeriac-dedupe:${key}`,
    paused: `${p}celeriac-paused`,
    tasks: `${p}celeriac-tasks`,
    taskEntries: `${p}celeriac-tasks:entries`,
  };
}

/** Ids read per round trip while listing the index. */
const LIST_PAGE = 500;
/** Most ids a listing reads when this backend was not told the index's size (it only reads it). */
const LIST_SCAN_MAX = 100_000;

function parseEntry(text: string | null): TaskSummary | undefined {
  if (text === null) return undefined;
  try {
    const e = JSON.parse(text) as TaskSummary;
    return typeof e.id === 'string' && typeof e.at === 'number' ? e : undefined;
  } catch {
    return undefined;
  }
}

/** The reply of the rate scripts: {granted, wait, reserved start, recorded start}. */
function reservationOf([granted, wait, slot, startedAt]: number[]): RateReservation {
  return { granted: granted === 1, waitMs: Number(wait), slot: Number(slot), startedAt: Number(startedAt) };
}

/**
 * Flow control's state on Redis: one Lua script per decision (rate bucket, lease, dedupe), on the
 * server's clock, so workers and producers on any host agree; paused queues in a set with a
 * `PUBLISH` per change; the task index in a sorted set trimmed to its size.
 */
export class RedisFlowStore implements FlowStore, TaskIndex {
  private subscriber: Redis | undefined;
  private readonly listeners = new Set<(queue: string, paused: boolean) => void>();
  private readonly resyncs = new Set<() => void>();

  constructor(
    private readonly primary: FlowScriptClient,
    private readonly openSubscriber: () => Redis,
    private readonly keys: FlowKeys,
    readonly taskIndexSize: number,
    private readonly assertOpen: () => void = () => {},
  ) {}

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await run();
    } catch (error) {
      throw toCeleriacError(error, what);
    }
  }

  async reserveRate(key: string, r: RateRequest): Promise<RateReservation> {
    const bucket = this.keys.rate(key);
    const reply = await this.call('reserveRate', () =>
      this.primary.celeriacRate(
        bucket,
        `${bucket}:starts`,
        r.count,
        r.windowMs,
        r.intervalMs,
        r.horizonMs,
        r.toleranceMs,
        r.slot === undefined ? '' : String(r.slot),
      ),
    );
    return reservationOf(reply);
  }

  async retakeRate(
    key: string,
    r: Pick<RateRequest, 'count' | 'windowMs'>,
    startedAt: number,
  ): Promise<RateReservation> {
    const reply = await this.call('retakeRate', () =>
      this.primary.celeriacRetake(`${this.keys.rate(key)}:starts`, r.count, r.windowMs, startedAt),
    );
    return reservationOf(reply);
  }

  acquireLease(key: string, holder: string, max: number, ttlMs: number): Promise<number> {
    return this.call('acquireLease', () =>
      this.primary.celeriacLease(this.keys.slots(key), holder, max, Math.ceil(ttlMs)),
    );
  }

  async renewLeases(leases: readonly LeaseRef[]): Promise<void> {
    if (leases.length === 0) return;
    const args: (string | number)[] = [leases.length];
    for (const l of leases) args.push(this.keys.slots(l.key));
    for (const l of leases) args.push(l.holder, Math.ceil(l.ttlMs));
    await this.call('renewLeases', () => this.primary.celeriacRenew(...args));
  }

  async releaseLease(key: string, holder: string): Promise<void> {
    await this.call('releaseLease', () => this.primary.zrem(this.keys.slots(key), holder));
  }

  async claimDedupe(key: string, id: string, mode: DedupeMode, holdMs: number): Promise<DedupeClaim> {
    const [holder, created] = await this.call('claimDedupe', () =>
      this.primary.celeriacDedupeClaim(this.keys.dedupe(key), id, mode, Math.max(1, Math.ceil(holdMs))),
    );
    return { id: holder, created: created === 1 };
  }

  async startDedupe(key: string, id: string): Promise<boolean> {
    return (
      (await this.call('startDedupe', () => this.primary.celeriacDedupeStart(this.keys.dedupe(key), id))) ===
      1
    );
  }

  async finishDedupe(key: string, id: string, ttlMs: number): Promise<void> {
    await this.call('finishDedupe', () =>
      this.primary.celeriacDedupeFinish(this.keys.dedupe(key), id, Math.max(0, Math.ceil(ttlMs))),
    );
  }

  async setQueuePaused(queue: string, paused: boolean): Promise<void> {
    const { paused: key } = this.keys;
    await this.call('setQueuePaused', () => {
      const tx = this.primary.multi();
      if (paused) tx.sadd(key, queue);
      else tx.srem(key, queue);
      return tx.publish(key, JSON.stringify({ queue, paused })).exec();
    });
  }

  pausedQueues(): Promise<string[]> {
    return this.call('pausedQueues', () => this.primary.smembers(this.keys.paused));
  }

  async onQueuePause(
    listener: (queue: string, paused: boolean) => void,
    onResync?: () => void,
  ): Promise<() => Promise<void>> {
    this.assertOpen();
    this.listeners.add(listener);
    if (onResync) this.resyncs.add(onResync);
    if (!this.subscriber) await this.subscribe();
    return async () => {
      this.listeners.delete(listener);
      if (onResync) this.resyncs.delete(onResync);
      if (this.listeners.size === 0) await this.close();
    };
  }

  private async subscribe(): Promise<void> {
    const sub = this.openSubscriber();
    this.subscriber = sub;
    sub.on('error', () => {});
    sub.on('message', (channel: string, text: string) => {
      if (channel !== this.keys.paused) return;
      let change: { queue?: unknown; paused?: unknown };
      try {
        change = JSON.parse(text) as typeof change;
      } catch {
        return;
      }
      if (typeof change.queue !== 'string' || typeof change.paused !== 'boolean') return;
      for (const l of this.listeners) l(change.queue, change.paused);
    });
    let first = true;
    // ioredis resubscribes after a reconnect; what changed meanwhile is read again.
    sub.on('ready', () => {
      if (first) first = false;
      else for (const r of this.resyncs) r();
    });
    try {
      await sub.subscribe(this.keys.paused);
    } catch (error) {
      this.subscriber = undefined;
      sub.disconnect();
      throw toCeleriacError(error, 'subscribing to queue pauses');
    }
  }

  async indexTasks(entries: readonly TaskSummary[]): Promise<void> {
    if (this.taskIndexSize <= 0 || entries.length === 0) return;
    const args: (string | number)[] = [this.keys.tasks, this.keys.taskEntries, this.taskIndexSize];
    for (const e of entries) args.push(e.id, e.at, JSON.stringify(e));
    await this.call('indexTasks', () => this.primary.celeriacIndex(...args));
  }

  async listTasks(query: TaskListQuery): Promise<TaskSummary[]> {
    const limit = query.limit ?? DEFAULT_LIST_LIMIT;
    const since = sinceOf(query);
    const out: TaskSummary[] = [];
    // Newest first, a page at a time, until the limit or the end of the (bounded) index.
    const scan = this.taskIndexSize || LIST_SCAN_MAX;
    for (let offset = 0; out.length < limit && offset < scan; offset += LIST_PAGE) {
      const ids = await this.call('listTasks', () =>
        this.primary.zrevrangebyscore(this.keys.tasks, '+inf', since, 'LIMIT', offset, LIST_PAGE),
      );
      if (ids.length === 0) break;
      const texts = await this.call('listTasks', () => this.primary.hmget(this.keys.taskEntries, ...ids));
      for (const text of texts) {
        const e = parseEntry(text);
        if (e && matchesQuery(e, query, since)) out.push(e);
        if (out.length >= limit) break;
      }
      if (ids.length < LIST_PAGE) break;
    }
    return out;
  }

  /** Stops listening for pauses. */
  async close(): Promise<void> {
    const sub = this.subscriber;
    this.subscriber = undefined;
    if (sub) await sub.quit().catch(() => sub.disconnect());
  }
}

import { createHash } from 'node:crypto';
import type { AnyTaskContract, InferTaskInput } from '../contract.js';
import { ConfigError } from '../errors.js';
import type { Client } from './client.js';
import type { EnqueueOptions } from './enqueue-options.js';
import {
  type ScheduleDefinition,
  type ScheduleInfo,
  specOf,
  type UntypedScheduleDefinition,
} from './schedule-definition.js';
import type { ScheduleStore, StoredSchedule } from './schedule-store.js';
import { type Timing, ticksBetween, timingOf } from './schedule-timing.js';

/**
 * Grants a key to exactly one caller until it expires, so that each periodic tick is enqueued once
 * however many schedulers run. The in-memory and Redis result backends are locks too (`SET NX PX`
 * on Redis); it is not part of `ResultBackend`, whose job is results.
 */
export interface ScheduleLock {
  /** Resolves true for exactly one caller of `key` until `ttlMs` passes. */
  claim(key: string, ttlMs: number): Promise<boolean>;
}

/** One periodic task fixed in code (see {@link Scheduler.upsert} for schedules managed at runtime). */
export interface Schedule<T extends AnyTaskContract = AnyTaskContract> {
  /** Unique, stable name: the claim key and task ids derive from it. */
  readonly name: string;
  /** Cron pattern (5 or 6 fields, seconds first when 6), e.g. `*\/5 * * * *`. */
  readonly cron: string;
  /** IANA time zone the pattern is read in. @default 'UTC' */
  readonly timezone?: string;
  readonly task: T;
  readonly input: InferTaskInput<T>;
  readonly options?: Omit<EnqueueOptions, 'taskId' | 'delayMs' | 'eta'>;
}

/** Options for {@link createScheduler}. */
export interface SchedulerOptions {
  readonly client: Client;
  /** Shared by every scheduler instance, so each tick of `schedules` is enqueued once however many run. */
  readonly lock?: ScheduleLock;
  /** Schedules fixed in code; they need `lock`. */
  readonly schedules?: readonly Schedule[];
  /**
   * Where schedules managed at runtime live ({@link Scheduler.upsert}), shared by every scheduler
   * instance; the in-memory and Redis result backends are ones.
   */
  readonly store?: ScheduleStore;
  /** How often the store is asked whether its schedules changed (another instance's upsert). @default 5_000 */
  readonly refreshMs?: number;
  /** With `catchUp: 'skip'`, a tick this late is skipped, not enqueued. @default 60_000 */
  readonly lateAfterMs?: number;
  /** With `catchUp: 'all'`, at most this many missed ticks (the most recent) are enqueued. @default 1_000 */
  readonly maxCatchUp?: number;
  /** Called when enqueueing a tick fails (the tick is skipped, the schedule goes on), or the store cannot be read. */
  readonly onError?: (error: unknown, schedule: Schedule | StoredSchedule | undefined) => void;
}

/** A scheduler: fires the ticks of its schedules, and manages the stored ones. */
export interface Scheduler {
  /**
   * Starts firing ticks; resolves once the stored schedules are loaded. Throws `ConfigError` at once
   * for a fixed schedule with an invalid pattern.
   */
  start(): Promise<void>;
  stop(): void;
  /** Next fire time per schedule name or id. */
  next(): Record<string, Date | null>;
  /**
   * Creates or replaces a stored schedule, seen by every scheduler on the same store (at once by
   * this one, within `refreshMs` by the others). The input is validated against the contract.
   */
  upsert<T extends AnyTaskContract>(definition: ScheduleDefinition<T>): Promise<ScheduleInfo>;
  /** Creates or replaces a stored schedule of a task by name (no contract, no validation). */
  upsert(definition: UntypedScheduleDefinition): Promise<ScheduleInfo>;
  /** Removes a stored schedule; no tick of it is claimed once this resolves. False when there was none. */
  remove(id: string): Promise<boolean>;
  /** The stored schedules, with their next tick. */
  list(): Promise<ScheduleInfo[]>;
}

/** A stable UUID-shaped id for one tick, so a tick enqueued twice is deduplicated by the worker. */
export function tickTaskId(name: string, at: Date): string {
  const h = createHash('sha256').update(`celeriac-schedule:${name}@${at.toISOString()}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** One schedule being fired: when its next tick is, how a tick is claimed, and how it is sent. */
interface Entry {
  readonly source: Schedule | StoredSchedule;
  readonly timing: Timing;
  readonly revision: number;
  nextAt: number | null;
  /** The ticks this scheduler must enqueue for the tick `at` (none when another one has it). */
  claim(at: number, now: number): Promise<number[]>;
  enqueue(tick: number): Promise<unknown>;
}

const MAX_TIMER_MS = 2_147_483_647;

/**
 * Periodic tasks without a singleton process: run as many schedulers as you like (for
 * availability). Schedules come from code (`schedules`, claimed per tick through `lock`) or from a
 * shared `store`, managed at runtime with `upsert`, `remove` and `list`; each stored tick is claimed
 * atomically in the store. Either way a tick is enqueued once, with a task id derived from the
 * schedule and the tick time.
 *
 * @example
 * ```ts
 * const scheduler = createScheduler({ client, store: backend });
 * await scheduler.start();
 * await scheduler.upsert({ id: 'nightly', cron: '0 3 * * *', timezone: 'Europe/Paris', task: report, input: {} });
 * ```
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const { client, store } = options;
  const refreshMs = options.refreshMs ?? 5_000;
  const lateAfterMs = options.lateAfterMs ?? 60_000;
  const maxCatchUp = options.maxCatchUp ?? 1_000;
  const statics = options.schedules ?? [];
  const names = new Set<string>();
  for (const s of statics) {
    if (names.has(s.name)) throw new ConfigError(`schedule name ${s.name} is used twice`);
    names.add(s.name);
  }
  if (statics.length > 0 && !options.lock)
    throw new ConfigError('schedules fixed in code need a `lock` (e.g. the result backend)');
  const onError = (error: unknown, schedule?: Schedule | StoredSchedule) =>
    options.onError?.(error, schedule);

  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let fixed = new Map<string, Entry>();
  let stored = new Map<string, Entry>();
  let version = -1;
  let refreshAt = 0;
  let forceRefresh = false;

  const requireStore = (): ScheduleStore => {
    if (!store) throw new ConfigError('this scheduler has no store; pass `store` to createScheduler');
    return store;
  };

  function fixedEntry(schedule: Schedule): Entry {
    let timing: Timing;
    try {
      timing = timingOf({ id: schedule.name, cron: schedule.cron, timezone: schedule.timezone ?? 'UTC' });
    } catch (error) {
      throw new ConfigError(`schedule ${schedule.name}: invalid cron "${schedule.cron}"`, { cause: error });
    }
    const lock = options.lock as ScheduleLock;
    return {
      source: schedule,
      timing,
      revision: 0,
      nextAt: timing.next(Date.now()),
      async claim(at) {
        const period = Math.max(1000, (timing.next(at) ?? at + 60_000) - at);
        const key = `celeriac-schedule-${schedule.name}@${new Date(at).toISOString()}`;
        return (await lock.claim(key, period)) ? [at] : [];
      },
      enqueue: (tick) =>
        client.enqueue(schedule.task, schedule.input, {
          ...schedule.options,
          taskId: tickTaskId(schedule.name, new Date(tick)),
        }),
    };
  }

  function storedEntry(s: StoredSchedule, timing: Timing, now: number): Entry {
    const st = requireStore();
    const due = timing.previous(now);
    return {
      source: s,
      timing,
      revision: s.revision,
      // A tick due since the last one claimed (missed while no scheduler ran) is looked at now.
      nextAt: due !== null && due > s.lastTickAt ? due : timing.next(now),
      async claim(at, nowMs) {
        const claim = await st.claimTick(s.id, s.revision, at);
        if (!claim.claimed) {
          // Changed or removed meanwhile: reload before the next tick, not after `refreshMs`.
          if (claim.stale) forceRefresh = true;
          return [];
        }
        if (s.catchUp === 'all') return ticksBetween(timing, claim.previous, at, maxCatchUp);
        if (s.catchUp === 'one') return [at];
        return nowMs - at <= lateAfterMs ? [at] : [];
      },
      enqueue: (tick) =>
        client.send(
          s.task,
          { args: [...s.args], kwargs: { ...s.kwargs } },
          { ...s.options, taskId: tickTaskId(s.id, new Date(tick)) },
        ),
    };
  }

  /** Reloads the stored schedules when the store's version moved (or when forced). */
  async function refresh(force: boolean): Promise<void> {
    if (!store) return;
    if (!force && (await store.schedulesVersion()) === version) return;
    const listed = await store.listSchedules();
    const now = Date.now();
    const next = new Map<string, Entry>();
    for (const s of listed.schedules) {
      const current = stored.get(s.id);
      if (current && current.revision === s.revision) {
        next.set(s.id, current);
        continue;
      }
      try {
        next.set(s.id, storedEntry(s, timingOf(s), now));
      } catch (error) {
        onError(error, s);
      }
    }
    stored = next;
    version = listed.version;
  }

  async function fire(entry: Entry, now: number): Promise<void> {
    const at = entry.timing.previous(now) ?? (entry.nextAt as number);
    entry.nextAt = entry.timing.next(now);
    try {
      for (const tick of await entry.claim(at, now)) await entry.enqueue(tick);
    } catch (error) {
      onError(error, entry.source);
    }
  }

  async function wake(): Promise<void> {
    timer = undefined;
    if (!running) return;
    if (store && (forceRefresh || Date.now() >= refreshAt)) {
      const force = forceRefresh;
      forceRefresh = false;
      try {
        await refresh(force);
      } catch (error) {
        onError(error);
      }
      refreshAt = Date.now() + refreshMs;
    }
    const now = Date.now();
    const due = [...fixed.values(), ...stored.values()].filter((e) => e.nextAt !== null && e.nextAt <= now);
    await Promise.all(due.map((e) => fire(e, now)));
    arm();
  }

  /** One timer, for the earliest of the next tick and the next look at the store. */
  function arm(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!running) return;
    let at = store ? (forceRefresh ? 0 : refreshAt) : Number.POSITIVE_INFINITY;
    for (const e of [...fixed.values(), ...stored.values()])
      if (e.nextAt !== null) at = Math.min(at, e.nextAt);
    if (at === Number.POSITIVE_INFINITY) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now()));
    timer = setTimeout(() => void wake(), delay);
  }

  /** After a local change: reload at once, so this scheduler never fires a stale definition. */
  async function changed(): Promise<void> {
    if (!running) return;
    await refresh(true);
    refreshAt = Date.now() + refreshMs;
    arm();
  }

  return {
    start() {
      if (running) return Promise.resolve();
      // Fixed schedules are checked before anything runs, synchronously: a bad pattern is a
      // programming error.
      fixed = new Map(statics.map((s) => [s.name, fixedEntry(s)]));
      running = true;
      if (!store) {
        arm();
        return Promise.resolve();
      }
      return changed();
    },
    stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      fixed = new Map();
      stored = new Map();
      version = -1;
    },
    next() {
      const at = (e: Entry) => (e.nextAt === null ? null : new Date(e.nextAt));
      return Object.fromEntries([
        ...[...fixed].map(([name, e]) => [name, at(e)] as const),
        ...[...stored].map(([id, e]) => [id, at(e)] as const),
      ]);
    },
    async upsert(definition: ScheduleDefinition<AnyTaskContract> | UntypedScheduleDefinition) {
      const st = requireStore();
      const spec = await specOf(definition);
      const timing = timingOf(spec);
      const saved = await st.upsertSchedule(spec, Date.now());
      await changed();
      return { ...saved, nextTickAt: nextOf(timing) };
    },
    async remove(id) {
      const removed = await requireStore().removeSchedule(id);
      await changed();
      return removed;
    },
    async list() {
      const { schedules } = await requireStore().listSchedules();
      return schedules.map((s) => {
        let nextTickAt: Date | null = null;
        try {
          nextTickAt = nextOf(timingOf(s));
        } catch {
          // A schedule another version wrote with a pattern this one cannot read: listed, never fired.
        }
        return { ...s, nextTickAt };
      });
    },
  };
}

function nextOf(timing: Timing): Date | null {
  const next = timing.next(Date.now());
  return next === null ? null : new Date(next);
}

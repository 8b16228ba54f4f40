import type { RetryPolicy } from '../contract.js';

/** What to do with ticks missed while no scheduler ran (or while one was stalled). */
export type CatchUp = 'skip' | 'one' | 'all';

/** The enqueue options a stored schedule keeps: JSON only, so every scheduler reads the same. */
export interface ScheduleCallOptions {
  readonly queue?: string;
  readonly priority?: number;
  readonly expiresMs?: number;
  readonly timeoutMs?: number;
  readonly softTimeoutMs?: number;
  readonly retry?: RetryPolicy;
  readonly ignoreResult?: boolean;
  readonly resultTtlMs?: number;
  readonly headers?: Readonly<Record<string, unknown>>;
}

/** A schedule as written to a {@link ScheduleStore}: when, what, and how to catch up. */
export interface ScheduleSpec {
  /** Unique, stable id: the tick claim and the tick's task ids derive from it. */
  readonly id: string;
  /** Cron pattern (5 or 6 fields, seconds first when 6); exactly one of `cron` and `everyMs`. */
  readonly cron?: string;
  /** A fixed period, in ms; ticks fall on multiples of it since the Unix epoch, the same for every scheduler. */
  readonly everyMs?: number;
  /** IANA time zone the cron pattern is read in (daylight saving included). */
  readonly timezone: string;
  /** The task's name (a contract's `name`, or any Celery task, e.g. a Python one). */
  readonly task: string;
  readonly args: readonly unknown[];
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly options: ScheduleCallOptions;
  readonly catchUp: CatchUp;
}

/** A schedule as a {@link ScheduleStore} keeps it. */
export interface StoredSchedule extends ScheduleSpec {
  /** Changes on every upsert: a tick computed from an older definition is refused. */
  readonly revision: number;
  /** The last tick claimed (ms since the epoch); at creation, the creation time. */
  readonly lastTickAt: number;
}

/** The answer to {@link ScheduleStore.claimTick}. */
export type TickClaim =
  /** This caller owns every tick after `previous` up to the claimed one. */
  | { readonly claimed: true; readonly previous: number }
  /** Another scheduler has it (`stale: false`), or the schedule changed or is gone (`stale: true`). */
  | { readonly claimed: false; readonly stale: boolean };

/**
 * Schedules kept where every scheduler instance sees them (the in-memory and Redis result backends
 * are ones), with an atomic tick claim: `claimTick` advances a schedule's last tick, so each tick
 * is enqueued once however many schedulers run, and a removed or changed schedule stops at once.
 */
export interface ScheduleStore {
  /** Creates or replaces a schedule (keeping its last tick when it exists); returns it as stored. */
  upsertSchedule(spec: ScheduleSpec, now: number): Promise<StoredSchedule>;
  /** Removes a schedule; resolves false when there was none. */
  removeSchedule(id: string): Promise<boolean>;
  /** Every schedule, and the version of the set (it grows with every change). */
  listSchedules(): Promise<{ readonly version: number; readonly schedules: StoredSchedule[] }>;
  /** The version of the set alone: what schedulers poll to learn about changes cheaply. */
  schedulesVersion(): Promise<number>;
  /**
   * Atomically: when the schedule exists at `revision` and its last tick is before `at`, moves the
   * last tick to `at` and returns the previous one.
   */
  claimTick(id: string, revision: number, at: number): Promise<TickClaim>;
}

/** Whether a backend (or anything) keeps schedules. */
export function hasScheduleStore(value: unknown): value is ScheduleStore {
  const v = value as Partial<ScheduleStore> | null | undefined;
  return (
    typeof v?.upsertSchedule === 'function' &&
    typeof v.removeSchedule === 'function' &&
    typeof v.listSchedules === 'function' &&
    typeof v.schedulesVersion === 'function' &&
    typeof v.claimTick === 'function'
  );
}

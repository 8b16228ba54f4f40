import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import type { AnyTaskContract, InferTaskInput } from '../contract.js';
import { ConfigError } from '../errors.js';
import type { Client } from './client.js';
import type { EnqueueOptions } from './enqueue-options.js';

/**
 * Grants a key to exactly one caller until it expires, so that each periodic tick is enqueued once
 * however many schedulers run. The in-memory and Redis result backends are locks too (`SET NX PX`
 * on Redis); it is not part of `ResultBackend`, whose job is results.
 */
export interface ScheduleLock {
  /** Resolves true for exactly one caller of `key` until `ttlMs` passes. */
  claim(key: string, ttlMs: number): Promise<boolean>;
}

/** One periodic task. */
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
  /** Shared by every scheduler instance, so each tick is enqueued once however many run. */
  readonly lock: ScheduleLock;
  readonly schedules: readonly Schedule[];
  /** Called when enqueueing a tick fails (the tick is skipped, the schedule goes on). */
  readonly onError?: (error: unknown, schedule: Schedule) => void;
}

/** A running scheduler. */
export interface Scheduler {
  start(): void;
  stop(): void;
  /** Next fire time per schedule name. */
  next(): Record<string, Date | null>;
}

/** A stable UUID-shaped id for one tick, so a tick enqueued twice is deduplicated by the worker. */
export function tickTaskId(name: string, at: Date): string {
  const h = createHash('sha256').update(`celeriac-schedule:${name}@${at.toISOString()}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Periodic tasks without a singleton process: run as many schedulers as you like (for
 * availability); each tick is claimed through the shared lock and enqueued once, with a task id
 * derived from the schedule and the tick time. Ticks missed while no scheduler runs are skipped.
 *
 * @example
 * ```ts
 * createScheduler({ client, lock: backend, schedules: [{ name: 'nightly', cron: '0 3 * * *', task: report, input: {} }] }).start();
 * ```
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const names = new Set<string>();
  for (const s of options.schedules) {
    if (names.has(s.name)) throw new ConfigError(`schedule name ${s.name} is used twice`);
    names.add(s.name);
  }
  let jobs: { schedule: Schedule; cron: Cron }[] = [];

  const fire = async (schedule: Schedule, cron: Cron) => {
    const at = cron.currentRun() ?? new Date();
    at.setMilliseconds(0);
    const period = Math.max(1000, (cron.nextRun()?.getTime() ?? at.getTime() + 60_000) - at.getTime());
    try {
      if (!(await options.lock.claim(`celeriac-schedule-${schedule.name}@${at.toISOString()}`, period)))
        return;
      await options.client.enqueue(schedule.task, schedule.input, {
        ...schedule.options,
        taskId: tickTaskId(schedule.name, at),
      });
    } catch (error) {
      options.onError?.(error, schedule);
    }
  };

  return {
    start() {
      if (jobs.length) return;
      jobs = options.schedules.map((schedule) => {
        let cron: Cron;
        try {
          cron = new Cron(
            schedule.cron,
            { timezone: schedule.timezone ?? 'UTC', paused: true, protect: true },
            () => fire(schedule, cron),
          );
        } catch (error) {
          throw new ConfigError(`schedule ${schedule.name}: invalid cron "${schedule.cron}"`, {
            cause: error,
          });
        }
        return { schedule, cron };
      });
      for (const j of jobs) j.cron.resume();
    },
    stop() {
      for (const j of jobs) j.cron.stop();
      jobs = [];
    },
    next: () => Object.fromEntries(jobs.map((j) => [j.schedule.name, j.cron.nextRun()])),
  };
}

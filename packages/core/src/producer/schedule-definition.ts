import type { AnyTaskContract, InferTaskInput } from '../contract.js';
import { ConfigError } from '../errors.js';
import { inputToCall } from '../input-mapping.js';
import { validate } from '../schema.js';
import type { UntypedCall } from './client.js';
import type { CatchUp, ScheduleCallOptions, ScheduleSpec, StoredSchedule } from './schedule-store.js';

/** Exactly one of a cron pattern and a fixed period. */
export type ScheduleTiming =
  | { readonly cron: string; readonly everyMs?: undefined }
  | { readonly everyMs: number; readonly cron?: undefined };

interface ScheduleBase {
  /** Unique, stable id: tick claims and the ticks' task ids derive from it. */
  readonly id: string;
  /** IANA time zone a cron pattern is read in, daylight saving included. @default 'UTC' */
  readonly timezone?: string;
  /**
   * Ticks missed while no scheduler ran: `'skip'` them (a tick later than `lateAfterMs` is
   * skipped), enqueue the latest `'one'`, or `'all'` of them (up to `maxCatchUp`). @default 'skip'
   */
  readonly catchUp?: CatchUp;
  /** Enqueue options kept with the schedule (JSON only). Queue and priority default to the contract's. */
  readonly options?: ScheduleCallOptions;
}

/** A stored schedule of a typed task: the input is validated against the contract. */
export type ScheduleDefinition<T extends AnyTaskContract = AnyTaskContract> = ScheduleTiming &
  ScheduleBase & { readonly task: T; readonly input: InferTaskInput<T> };

/** A stored schedule of a task by name (e.g. a Python task), sent as it is. */
export type UntypedScheduleDefinition = ScheduleTiming &
  ScheduleBase & { readonly task: string; readonly input?: UntypedCall };

/** A stored schedule as `list()` and `upsert()` return it. */
export interface ScheduleInfo extends StoredSchedule {
  /** The next tick from now; `null` when the pattern never fires again. */
  readonly nextTickAt: Date | null;
}

const CATCH_UP: readonly CatchUp[] = ['skip', 'one', 'all'];

/** Checks a definition and turns it into what the store keeps: a name, a Celery call, JSON options. */
export async function specOf(
  definition: ScheduleDefinition<AnyTaskContract> | UntypedScheduleDefinition,
): Promise<ScheduleSpec> {
  const { id, task } = definition;
  if (typeof id !== 'string' || id === '') throw new ConfigError('a schedule needs a non-empty id');
  if ((definition.cron === undefined) === (definition.everyMs === undefined))
    throw new ConfigError(`schedule ${id}: give exactly one of cron and everyMs`);
  const catchUp = definition.catchUp ?? 'skip';
  if (!CATCH_UP.includes(catchUp))
    throw new ConfigError(`schedule ${id}: catchUp must be one of ${CATCH_UP.join(', ')}`);
  let name: string;
  let call: { args: unknown[]; kwargs: Record<string, unknown> };
  let options: ScheduleCallOptions = { ...definition.options };
  if (typeof task === 'string') {
    const untyped = (definition as UntypedScheduleDefinition).input ?? {};
    name = task;
    call = { args: [...(untyped.args ?? [])], kwargs: { ...untyped.kwargs } };
  } else {
    const input = (definition as ScheduleDefinition).input;
    await validate(task.input, input, task.name, 'input');
    name = task.name;
    call = inputToCall(task, input);
    const d = task.defaults;
    // What the producer decides from the contract when it enqueues, kept with the schedule.
    options = {
      ...(d.queue !== undefined ? { queue: d.queue } : {}),
      ...(d.priority !== undefined ? { priority: d.priority } : {}),
      ...(d.expiresMs !== undefined ? { expiresMs: d.expiresMs } : {}),
      ...(d.resultTtlMs !== undefined ? { resultTtlMs: d.resultTtlMs } : {}),
      ...options,
    };
  }
  // JSON all the way: what one scheduler stores, every other reads back the same.
  const json = JSON.parse(JSON.stringify({ call, options })) as {
    call: typeof call;
    options: ScheduleCallOptions;
  };
  return {
    id,
    ...(definition.cron !== undefined ? { cron: definition.cron } : { everyMs: definition.everyMs }),
    timezone: definition.timezone ?? 'UTC',
    task: name,
    args: json.call.args,
    kwargs: json.call.kwargs,
    options: json.options,
    catchUp,
  };
}

import { type AnyTaskContract, ConfigError, type ResultBackend } from '@celeriac/core';
import {
  type CatchUp,
  createClient,
  createScheduler,
  hasScheduleStore,
  type ScheduleInfo,
  type Scheduler,
  type ScheduleTiming,
  type UntypedCall,
} from '@celeriac/core/producer';
import { type Command, InvalidArgumentError } from 'commander';
import { type ConnectionFlags, connect } from './connect.js';
import { loadContracts } from './load-contracts.js';

/** Flags of `celeriac schedule add`. */
export interface ScheduleAddFlags extends ConnectionFlags {
  readonly cron?: string;
  readonly every?: number;
  readonly tz?: string;
  readonly catchUp?: string;
  readonly queue?: string;
  /** A module exporting task contracts: the input of a task found there is validated first. */
  readonly contracts?: string;
}

/** The scheduler of the stored schedules in the backend the flags name. */
async function withScheduler<T>(
  flags: ConnectionFlags,
  fn: (scheduler: Scheduler) => Promise<T>,
): Promise<T> {
  const conn = await connect(flags);
  try {
    const backend: ResultBackend = conn.backend;
    if (!hasScheduleStore(backend))
      throw new ConfigError(`the ${backend.name} result backend keeps no schedules; use a Redis backend`);
    // Never started: it only manages the schedules, the running schedulers fire them.
    return await fn(
      createScheduler({ client: createClient({ broker: conn.broker, backend }), store: backend }),
    );
  } finally {
    await conn.close();
  }
}

function describeTiming(s: ScheduleInfo): string {
  return s.cron !== undefined ? `cron "${s.cron}" ${s.timezone}` : `every ${s.everyMs} ms`;
}

/** `celeriac schedule list`: one line per stored schedule (or one JSON object with `--json`). */
export async function scheduleListCommand(flags: ConnectionFlags & { json?: boolean }): Promise<number> {
  return withScheduler(flags, async (scheduler) => {
    for (const s of await scheduler.list()) {
      const next = s.nextTickAt?.toISOString() ?? 'never';
      if (flags.json) console.log(JSON.stringify({ ...s, nextTickAt: s.nextTickAt?.toISOString() ?? null }));
      else console.log(`${s.id}\t${s.task}\t${describeTiming(s)}\tcatch-up ${s.catchUp}\tnext ${next}`);
    }
    return 0;
  });
}

function parseJson(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch (error) {
    throw new ConfigError(`input is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

function timingOf(flags: ScheduleAddFlags): ScheduleTiming {
  if ((flags.cron === undefined) === (flags.every === undefined))
    throw new ConfigError('give exactly one of --cron and --every');
  return flags.cron !== undefined ? { cron: flags.cron } : { everyMs: flags.every as number };
}

/**
 * `celeriac schedule add <id> <task> [json]`: creates or replaces a stored schedule. A task with a
 * contract in `--contracts` has its input validated; any other is stored as a call by name (an
 * object as kwargs, an array as args), e.g. for a Python task.
 */
export async function scheduleAddCommand(
  id: string,
  task: string,
  json: string | undefined,
  flags: ScheduleAddFlags,
): Promise<number> {
  const input = parseJson(json ?? '{}');
  const timing = timingOf(flags);
  const contract: AnyTaskContract | undefined = flags.contracts
    ? (await loadContracts(flags.contracts)).get(task)
    : undefined;
  const common = {
    id,
    ...(flags.tz ? { timezone: flags.tz } : {}),
    ...(flags.catchUp ? { catchUp: flags.catchUp as CatchUp } : {}),
    ...(flags.queue ? { options: { queue: flags.queue } } : {}),
  };
  return withScheduler(flags, async (scheduler) => {
    let saved: ScheduleInfo;
    if (contract) {
      saved = await scheduler.upsert({ ...common, ...timing, task: contract, input: input as never });
    } else {
      const call: UntypedCall =
        input !== null && typeof input === 'object' && !Array.isArray(input)
          ? { kwargs: input as Record<string, unknown> }
          : { args: Array.isArray(input) ? input : [input] };
      saved = await scheduler.upsert({ ...common, ...timing, task, input: call });
    }
    console.log(
      `${saved.id}\t${saved.task}\t${describeTiming(saved)}\tnext ${saved.nextTickAt?.toISOString() ?? 'never'}`,
    );
    return 0;
  });
}

/** `celeriac schedule remove <id>`: exit code 1 when there was no such schedule. */
export async function scheduleRemoveCommand(id: string, flags: ConnectionFlags): Promise<number> {
  return withScheduler(flags, async (scheduler) => {
    const removed = await scheduler.remove(id);
    console.log(removed ? `removed ${id}` : `no schedule ${id}`);
    return removed ? 0 : 1;
  });
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function catchUp(value: string): string {
  if (!['skip', 'one', 'all'].includes(value)) throw new InvalidArgumentError('must be skip, one or all');
  return value;
}

/** Adds `celeriac schedule list|add|remove` to the program. */
export function addScheduleCommands(program: Command, run: (fn: () => Promise<number>) => void): void {
  const schedule = program
    .command('schedule')
    .description('manage the periodic schedules stored in the result backend (every scheduler sees them)');
  schedule
    .command('list')
    .description('list the stored schedules with their next tick')
    .option('--json', 'one JSON object per line')
    .action((o) => run(() => scheduleListCommand({ ...program.opts(), ...o })));
  schedule
    .command('add <id> <task> [json]')
    .description('create or replace a schedule: <task> with the JSON input [json], on --cron or --every')
    .option('--cron <pattern>', 'cron pattern, 5 fields (6 with seconds first)')
    .option('--every <ms>', 'fixed period in ms', positive)
    .option('--tz <zone>', 'IANA time zone the cron pattern is read in (default UTC)')
    .option(
      '--catch-up <policy>',
      'ticks missed while no scheduler ran: skip, one or all (default skip)',
      catchUp,
    )
    .option('--queue <name>', 'queue to route the task to')
    .option('--contracts <module>', 'module exporting task contracts: validate the input before storing')
    .action((id: string, task: string, json: string | undefined, o) =>
      run(() => scheduleAddCommand(id, task, json, { ...program.opts(), ...o })),
    );
  schedule
    .command('remove <id>')
    .description('remove a schedule; no tick of it is enqueued afterwards')
    .action((id: string) => run(() => scheduleRemoveCommand(id, program.opts())));
}

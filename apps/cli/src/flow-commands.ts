import { ConfigError } from '@celeriac/core';
import { type Client, createClient } from '@celeriac/core/producer';
import { type Command, InvalidArgumentError } from 'commander';
import { type ConnectionFlags, connect } from './connect.js';

/** A client on the broker and backend the flags name, closed after `fn`. */
async function withClient<T>(flags: ConnectionFlags, fn: (client: Client) => Promise<T>): Promise<T> {
  const conn = await connect(flags);
  try {
    return await fn(createClient({ broker: conn.broker, backend: conn.backend }));
  } finally {
    await conn.close();
  }
}

/** `celeriac queue pause|resume <queue>` and `celeriac queue paused`. */
export function queueCommand(
  action: string,
  queue: string | undefined,
  flags: ConnectionFlags,
): Promise<number> {
  return withClient(flags, async (client) => {
    if (action === 'paused') {
      for (const q of (await client.pausedQueues()).sort()) console.log(q);
      return 0;
    }
    if (action !== 'pause' && action !== 'resume')
      throw new ConfigError(`unknown action "${action}" (use pause, resume or paused)`);
    if (!queue) throw new ConfigError(`queue ${action} needs a queue name`);
    if (action === 'pause') await client.pauseQueue(queue);
    else await client.resumeQueue(queue);
    console.log(`${action === 'pause' ? 'paused' : 'resumed'} ${queue} on every worker`);
    return 0;
  });
}

/** Flags of `celeriac tasks list`. */
export interface TasksListFlags extends ConnectionFlags {
  readonly state?: string;
  readonly name?: string;
  readonly queue?: string;
  readonly since?: Date;
  readonly limit: number;
  readonly json?: boolean;
}

/** `celeriac tasks list`: recent tasks from the backend's index, newest first, one per line. */
export function tasksListCommand(flags: TasksListFlags): Promise<number> {
  return withClient(flags, async (client) => {
    const found = await client.tasks.list({
      ...(flags.state ? { state: flags.state.toUpperCase() } : {}),
      ...(flags.name ? { name: flags.name } : {}),
      ...(flags.queue ? { queue: flags.queue } : {}),
      ...(flags.since ? { since: flags.since } : {}),
      limit: flags.limit,
    });
    for (const t of found) {
      const at = new Date(t.at).toISOString();
      if (flags.json) console.log(JSON.stringify({ ...t, at }));
      else console.log(`${t.id}\t${t.state}\t${t.name}\t${t.queue}\t${at}\t${t.worker}`);
    }
    return 0;
  });
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function date(value: string): Date {
  const d = /^\d+$/.test(value) ? new Date(Number(value)) : new Date(value);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError('must be an ISO date or ms since the epoch');
  return d;
}

/** Adds `celeriac queue pause|resume|paused` and `celeriac tasks list` to the program. */
export function addFlowCommands(program: Command, run: (fn: () => Promise<number>) => void): void {
  program
    .command('queue <action> [queue]')
    .description(
      'pause or resume a queue on every worker (action: pause | resume | paused); running tasks finish',
    )
    .action((action: string, queue: string | undefined) =>
      run(() => queueCommand(action, queue, program.opts())),
    );
  program
    .command('tasks <action>')
    .description('list recent tasks from the index workers keep (action: list; backend with taskIndex)')
    .option('--state <state>', 'only this state: SUCCESS, FAILURE, RETRY, REVOKED')
    .option('--name <task>', 'only this task name')
    .option('--queue <name>', 'only this queue')
    .option('--since <time>', 'recorded at or after this time (ISO date or ms since the epoch)', date)
    .option('--limit <n>', 'most tasks printed', count, 100)
    .option('--json', 'one JSON object per line')
    .action((action: string, o) => {
      if (action !== 'list') {
        run(() => Promise.reject(new ConfigError(`unknown action "${action}" (use list)`)));
        return;
      }
      run(() => tasksListCommand({ ...program.opts(), ...o }));
    });
}

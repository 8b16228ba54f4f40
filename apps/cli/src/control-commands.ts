import { ConfigError } from '@celeriac/core';
import {
  type ControlCallOptions,
  type ControlClient,
  type ControlTransport,
  createControlClient,
  type RepliesByNode,
} from '@celeriac/core/producer';
import { controlTransportFromUrl } from './adapters.js';

/** Flags shared by `celeriac inspect`, `control` and `status`. */
export interface ControlFlags {
  readonly broker: string;
  /** Node names, comma-separated or repeated (default: every node). */
  readonly destination?: readonly string[];
  /** How long to wait for replies, ms. */
  readonly timeout: number;
  /** Celery's `control_exchange`. */
  readonly namespace?: string;
  /** Print the replies as JSON instead of tables. */
  readonly json?: boolean;
}

/** What `celeriac inspect` can ask, by Celery's names. */
export const INSPECT_COMMANDS = [
  'ping',
  'stats',
  'active',
  'reserved',
  'scheduled',
  'registered',
  'active_queues',
  'revoked',
  'conf',
  'report',
  'query_task',
  'clock',
] as const;

async function withControl<T>(flags: ControlFlags, fn: (c: ControlClient) => Promise<T>): Promise<T> {
  const transport = await controlTransportFromUrl<ControlTransport>(flags.broker, flags.namespace);
  const control = createControlClient(transport, { timeoutMs: flags.timeout });
  try {
    return await fn(control);
  } finally {
    await control.close();
  }
}

function callOptions(flags: ControlFlags): ControlCallOptions {
  const destination = (flags.destination ?? []).flatMap((d) => d.split(',')).filter(Boolean);
  return destination.length ? { destination } : {};
}

const clip = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}…` : text);

/** Rows as aligned columns under a header. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Celery's `-> node: OK message` (or `ERROR`) line for a command reply. */
function replyLine(node: string, reply: unknown): string {
  if (reply && typeof reply === 'object' && 'error' in reply)
    return `-> ${node}: ERROR ${String(reply.error)}`;
  if (reply && typeof reply === 'object' && 'ok' in reply) return `-> ${node}: OK ${String(reply.ok)}`;
  return `-> ${node}: OK ${JSON.stringify(reply)}`;
}

type Task = { id?: string; name?: string; args?: unknown; kwargs?: unknown; time_start?: number | null };

function taskRows(tasks: readonly Task[]): string[][] {
  return tasks.map((t) => [
    t.id ?? '',
    t.name ?? '',
    clip(`${JSON.stringify(t.args ?? [])} ${JSON.stringify(t.kwargs ?? {})}`, 60),
    typeof t.time_start === 'number' ? new Date(t.time_start * 1000).toISOString().slice(11, 19) : '',
  ]);
}

/** A readable rendering of one node's inspect reply. */
export function formatInspect(what: string, node: string, reply: unknown): string {
  const title = `-> ${node}`;
  if (reply && typeof reply === 'object' && 'error' in reply) return `${title}: ERROR ${String(reply.error)}`;
  switch (what) {
    case 'ping':
    case 'report':
      return replyLine(node, reply);
    case 'active':
    case 'reserved': {
      const tasks = (reply as Task[]) ?? [];
      if (tasks.length === 0) return `${title}: - empty -`;
      return `${title}: ${tasks.length} task(s)\n${table(['id', 'name', 'args', 'started'], taskRows(tasks))}`;
    }
    case 'scheduled': {
      const tasks = ((reply as { request?: Task }[]) ?? []).map((s) => s.request ?? {});
      return tasks.length
        ? `${title}\n${table(['id', 'name', 'args', 'started'], taskRows(tasks))}`
        : `${title}: - empty -`;
    }
    case 'registered':
    case 'revoked': {
      const items = (reply as string[]) ?? [];
      return items.length ? `${title}\n${items.map((i) => `    * ${i}`).join('\n')}` : `${title}: - empty -`;
    }
    case 'active_queues': {
      const queues = (reply as { name?: string; routing_key?: string }[]) ?? [];
      return `${title}\n${queues.map((q) => `    * ${q.name ?? ''}`).join('\n')}`;
    }
    case 'stats': {
      const s = reply as {
        pid?: number;
        uptime?: number;
        prefetch_count?: number;
        total?: Record<string, number>;
        pool?: Record<string, unknown>;
        broker?: { transport?: string; hostname?: string; port?: number | null };
      };
      const totals = Object.entries(s.total ?? {}).map(([name, n]) => [`  ${name}`, String(n)]);
      return [
        title,
        table(
          ['field', 'value'],
          [
            ['pid', String(s.pid ?? '')],
            ['uptime', `${s.uptime ?? 0} s`],
            ['concurrency', String(s.pool?.['max-concurrency'] ?? '')],
            ['prefetch', String(s.prefetch_count ?? '')],
            ['broker', `${s.broker?.transport ?? ''}://${s.broker?.hostname ?? ''}:${s.broker?.port ?? ''}`],
            ['processed', ''],
            ...totals,
          ],
        ),
      ].join('\n');
    }
    default:
      return `${title}\n${JSON.stringify(reply, null, 2)}`;
  }
}

function print(flags: ControlFlags, what: string, replies: RepliesByNode): number {
  const nodes = Object.keys(replies).sort();
  if (flags.json) console.log(JSON.stringify(replies));
  else for (const node of nodes) console.log(formatInspect(what, node, replies[node]));
  if (nodes.length === 0) {
    console.error('celeriac: no nodes replied within the timeout');
    return 1;
  }
  return 0;
}

/** `celeriac inspect <what> [args…]`: the inspect commands of `celery inspect`, on any broker. */
export async function inspectCommand(
  what: string,
  args: readonly string[],
  flags: ControlFlags,
): Promise<number> {
  if (!(INSPECT_COMMANDS as readonly string[]).includes(what))
    throw new ConfigError(`unknown inspect command "${what}"; one of: ${INSPECT_COMMANDS.join(', ')}`);
  return withControl(flags, async (control) => {
    const i = control.inspect(callOptions(flags));
    const ask: Record<(typeof INSPECT_COMMANDS)[number], () => Promise<RepliesByNode>> = {
      ping: () => i.ping(),
      stats: () => i.stats(),
      active: () => i.active(),
      reserved: () => i.reserved(),
      scheduled: () => i.scheduled(),
      registered: () => i.registered(...args),
      active_queues: () => i.activeQueues(),
      revoked: () => i.revoked(),
      conf: () => i.conf(),
      report: () => i.report(),
      query_task: () => i.queryTask(...args),
      clock: () => i.clock(),
    };
    const replies = await ask[what as (typeof INSPECT_COMMANDS)[number]]();
    return print(flags, what, replies);
  });
}

/** Options of `celeriac control revoke`. */
export interface RevokeFlags extends ControlFlags {
  readonly terminate?: boolean;
  readonly signal?: string;
}

function need(args: readonly string[], count: number, usage: string): void {
  if (args.length < count) throw new ConfigError(`usage: celeriac control ${usage}`);
}

const number = (value: string | undefined, name: string): number => {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n))
    throw new ConfigError(`${name} must be a number, got "${value}"`);
  return n;
};

/** What `celeriac control` can do, with its usage. */
export const CONTROL_COMMANDS: Readonly<Record<string, string>> = {
  revoke: 'revoke <id...> [--terminate] [--signal NAME]',
  terminate: 'terminate <id...>',
  rate_limit: 'rate_limit <task> <rate, e.g. 10/s>',
  time_limit: 'time_limit <task> <soft seconds> [hard seconds]',
  pool_grow: 'pool_grow [n]',
  pool_shrink: 'pool_shrink [n]',
  pool_restart: 'pool_restart',
  autoscale: 'autoscale <max> <min>',
  add_consumer: 'add_consumer <queue>',
  cancel_consumer: 'cancel_consumer <queue>',
  enable_events: 'enable_events',
  disable_events: 'disable_events',
  heartbeat: 'heartbeat',
  shutdown: 'shutdown',
};

/** `celeriac control <what> [args…]`: the control commands of `celery control`, on any broker. */
export async function controlCommand(
  what: string,
  args: readonly string[],
  flags: RevokeFlags,
): Promise<number> {
  const usage = CONTROL_COMMANDS[what];
  if (!usage)
    throw new ConfigError(
      `unknown control command "${what}"; one of: ${Object.keys(CONTROL_COMMANDS).join(', ')}`,
    );
  return withControl(flags, async (control) => {
    const o = callOptions(flags);
    let replies: RepliesByNode;
    switch (what) {
      case 'revoke':
      case 'terminate':
        need(args, 1, usage);
        replies = await control.revoke(args, {
          ...o,
          terminate: what === 'terminate' || (flags.terminate ?? false),
          signal: flags.signal ?? 'SIGTERM',
        });
        break;
      case 'rate_limit':
        need(args, 2, usage);
        replies = await control.rateLimit(args[0] as string, args[1] as string, o);
        break;
      case 'time_limit':
        need(args, 2, usage);
        replies = await control.timeLimit(
          args[0] as string,
          {
            soft: number(args[1], 'soft'),
            ...(args[2] !== undefined ? { hard: number(args[2], 'hard') } : {}),
          },
          o,
        );
        break;
      case 'pool_grow':
        replies = await control.poolGrow(args[0] === undefined ? 1 : number(args[0], 'n'), o);
        break;
      case 'pool_shrink':
        replies = await control.poolShrink(args[0] === undefined ? 1 : number(args[0], 'n'), o);
        break;
      case 'pool_restart':
        replies = await control.poolRestart(o);
        break;
      case 'autoscale':
        need(args, 2, usage);
        replies = await control.autoscale(number(args[0], 'max'), number(args[1], 'min'), o);
        break;
      case 'add_consumer':
        need(args, 1, usage);
        replies = await control.addConsumer(args[0] as string, o);
        break;
      case 'cancel_consumer':
        need(args, 1, usage);
        replies = await control.cancelConsumer(args[0] as string, o);
        break;
      case 'enable_events':
        replies = await control.enableEvents(o);
        break;
      case 'disable_events':
        replies = await control.disableEvents(o);
        break;
      case 'heartbeat':
        replies = await control.heartbeat(o);
        break;
      default:
        // Workers do not answer a shutdown (as Celery's): there is nothing to wait for.
        await control.shutdown(o);
        console.log(flags.json ? '{}' : 'shutdown sent');
        return 0;
    }
    if (flags.json) console.log(JSON.stringify(replies));
    else for (const node of Object.keys(replies).sort()) console.log(replyLine(node, replies[node]));
    if (Object.keys(replies).length === 0) {
      console.error('celeriac: no nodes replied within the timeout');
      return 1;
    }
    return 0;
  });
}

/** `celeriac status`: which workers answer, as `celery status`. */
export async function statusCommand(flags: ControlFlags): Promise<number> {
  return withControl(flags, async (control) => {
    const replies = await control.ping(callOptions(flags));
    const nodes = Object.keys(replies).sort();
    if (flags.json) console.log(JSON.stringify(Object.fromEntries(nodes.map((n) => [n, 'online']))));
    else {
      for (const node of nodes) console.log(`${node}: OK`);
      console.log(`\n${nodes.length} node${nodes.length === 1 ? '' : 's'} online.`);
    }
    return nodes.length > 0 ? 0 : 1;
  });
}

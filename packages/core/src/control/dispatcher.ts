import { memoryUsage } from 'node:process';
import { pythonSetRepr, queueInfo, registeredEntry, requestInfo, statsReply } from './celery-shapes.js';
import { type ControlRequest, nok, ok } from './protocol.js';
import type { ControlRevokeOptions, ControlTarget } from './target.js';
import type { ControlBrokerInfo } from './transport.js';

/** What a command handler returns; `NO_REPLY` sends nothing (as Celery's `shutdown`). */
export const NO_REPLY: unique symbol = Symbol('celeriac.control.no-reply');

type Handler = (args: Args) => unknown | Promise<unknown>;

/** What a dispatcher needs besides the target. */
export interface DispatcherContext {
  readonly broker: ControlBrokerInfo;
  /** The node's Lamport clock now. */
  clock(): number;
}

/** Runs one command against a target and returns its reply body (Celery's shapes), or {@link NO_REPLY}. */
export type ControlDispatcher = (request: ControlRequest) => Promise<unknown>;

/** Typed readers over a command's keyword arguments, tolerant of the CLI's strings. */
class Args {
  constructor(private readonly values: Readonly<Record<string, unknown>>) {}

  raw(name: string): unknown {
    return this.values[name];
  }

  string(name: string): string | null {
    const v = this.values[name];
    return v === null || v === undefined ? null : String(v);
  }

  number(name: string): number | null {
    const v = this.values[name];
    if (v === null || v === undefined || v === '') return null;
    const n = typeof v === 'number' ? v : Number(v);
    return Number.isFinite(n) ? n : null;
  }

  bool(name: string): boolean {
    const v = this.values[name];
    if (typeof v === 'string') return ['1', 'true', 'yes', 'on', 'y', 't'].includes(v.toLowerCase());
    return Boolean(v);
  }

  /** A single value or a list, as Celery's `maybe_list`. */
  list(name: string): string[] {
    const v = this.values[name];
    if (v === null || v === undefined) return [];
    return (Array.isArray(v) ? v : [v]).map(String);
  }
}

/** Mirrors Python's `ValueError`/`KeyError` reprs, which Celery puts in `{ error }` replies. */
class PythonError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }

  /** Python's repr: single quotes unless the message holds one and no double quote. */
  repr(): string {
    const q = this.message.includes("'") && !this.message.includes('"') ? '"' : "'";
    const text = q === "'" ? this.message.replace(/\\/g, '\\\\').replace(/'/g, "\\'") : this.message;
    return `${this.type}(${q}${text}${q})`;
  }
}

/** Celery's rate strings: `10`, `10/s`, `100/m`, `2/h`. */
function checkRate(rate: string): void {
  const [ops, unit = 's'] = rate.split('/', 2) as [string, string?];
  if (!['s', 'm', 'h'].includes(unit)) throw new PythonError('KeyError', unit);
  if (ops.trim() === '' || !Number.isFinite(Number(ops)))
    throw new PythonError('ValueError', `could not convert string to float: '${ops}'`);
}

function stampsByScheme(raw: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (Array.isArray(raw)) {
    for (const item of raw) {
      const [key, value] = String(item).split('=', 2);
      if (key && value !== undefined) out[key] = [...(out[key] ?? []), value];
    }
  } else if (typeof raw === 'object' && raw !== null) {
    for (const [key, value] of Object.entries(raw))
      out[key] = (Array.isArray(value) ? value : [value]).map(String);
  }
  return out;
}

/**
 * Maps Celery's control and inspect commands (and their old `dump_*` aliases) onto a
 * {@link ControlTarget}. Replies take Celery's shapes, including its errors: an unknown command
 * answers `{ error: "KeyError('name')" }`, an unsupported one Celery's `{ error: … }`.
 */
export function createControlDispatcher(
  target: ControlTarget,
  context: DispatcherContext,
): ControlDispatcher {
  const host = target.hostname;
  const revoke = async (ids: string[], options: ControlRevokeOptions) => {
    const terminated = await target.revoke(ids, options);
    if (options.terminate)
      return terminated.length ? ok(`terminate: ${terminated.join(', ')}`) : ok('terminate: tasks unknown');
    return ok(`tasks ${pythonSetRepr([...new Set(ids)])} flagged as revoked`);
  };
  const revokeOptions = (a: Args): ControlRevokeOptions => ({
    terminate: a.bool('terminate'),
    signal: a.string('signal') ?? 'SIGTERM',
  });
  const resize = (a: Args, sign: 1 | -1, what: string) => {
    if (target.stats().autoscale)
      return nok(`pool_${what} is not supported with autoscale. Adjust autoscale range instead.`);
    const n = Math.max(0, Math.floor(a.number('n') ?? 1));
    target.setConcurrency(Math.max(1, target.stats().concurrency + sign * n));
    return ok(`pool will ${what}`);
  };
  const events = (enabled: boolean) => {
    const before = target.setTaskEvents?.(enabled);
    if (before === undefined) return nok('event dispatcher unavailable');
    const word = enabled ? 'enabled' : 'disabled';
    return ok(before === enabled ? `task events already ${word}` : `task events ${word}`);
  };

  const handlers: Record<string, Handler> = {
    ping: () => ok('pong'),
    clock: () => ({ clock: context.clock() }),
    report: () => ok(target.report?.() ?? `software -> celeriac\nhostname -> ${host}\n`),
    conf: (a) => target.conf?.(a.bool('with_defaults')) ?? {},
    stats: () =>
      statsReply(
        target.stats(),
        context.broker,
        context.clock(),
        target.active().length + target.reserved().length,
      ),
    active: (a) => target.active().map((r) => requestInfo(r, host, a.bool('safe'))),
    reserved: (a) => target.reserved().map((r) => requestInfo(r, host, a.bool('safe'))),
    // Early (ETA) messages wait in the broker's delayed store, never in worker memory.
    scheduled: () => [],
    revoked: () => [...target.revoked()],
    registered: (a) => {
      const items = a.list('taskinfoitems');
      const wanted = items.length ? items : ['exchange', 'routing_key', 'rate_limit'];
      const builtins = a.bool('builtins');
      return target
        .registered()
        .filter((t) => builtins || !t.name.startsWith('celery.'))
        .sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))
        .map((t) => registeredEntry(t, wanted));
    },
    query_task: (a) => {
      const ids = new Set(a.list('ids'));
      const out: Record<string, unknown> = {};
      for (const r of target.active()) if (ids.has(r.id)) out[r.id] = ['active', requestInfo(r, host, false)];
      for (const r of target.reserved())
        if (ids.has(r.id)) out[r.id] = ['reserved', requestInfo(r, host, false)];
      return out;
    },
    active_queues: () => target.queues().map(queueInfo),
    revoke: (a) => revoke(a.list('task_id'), revokeOptions(a)),
    terminate: (a) => revoke(a.list('task_id'), { terminate: true, signal: a.string('signal') ?? 'SIGTERM' }),
    revoke_by_stamped_headers: async (a) => {
      const headers = stampsByScheme(a.raw('headers'));
      if (!target.revokeByStampedHeaders) return nok('revoking by stamped headers is not supported');
      const options = revokeOptions(a);
      const hit = await target.revokeByStampedHeaders(headers, options);
      const shown = JSON.stringify(headers);
      if (!options.terminate) return ok(`headers ${shown} flagged as revoked, but not terminated`);
      return Object.keys(hit).length === 0
        ? ok(`headers ${shown} were not terminated`)
        : ok(`headers ${JSON.stringify(hit)} revoked`);
    },
    rate_limit: (a) => {
      const rate = a.string('rate_limit') ?? '';
      try {
        if (rate) checkRate(rate);
      } catch (error) {
        if (error instanceof PythonError && error.type === 'ValueError')
          return nok(`Invalid rate limit string: ${error.repr()}`);
        throw error;
      }
      // Celery's error shape until the worker enforces rate limits itself.
      if (!target.setRateLimit) return nok('rate limits are not supported by this worker yet');
      if (!target.setRateLimit(a.string('task_name') ?? '', rate || null)) return nok('unknown task');
      return ok(rate ? 'new rate limit set successfully' : 'rate limit disabled successfully');
    },
    time_limit: (a) => {
      if (!target.setTimeLimit) return nok('time limits cannot be changed on this worker');
      const limits = { soft: a.number('soft'), hard: a.number('hard') };
      if (!target.setTimeLimit(a.string('task_name') ?? '', limits)) return nok('unknown task');
      return ok('time limits set successfully');
    },
    enable_events: () => events(true),
    disable_events: () => events(false),
    heartbeat: () => {
      target.heartbeat?.();
      return null;
    },
    pool_grow: (a) => resize(a, 1, 'grow'),
    pool_shrink: (a) => resize(a, -1, 'shrink'),
    autoscale: (a) => {
      const range = target.autoscale?.(a.number('max'), a.number('min'));
      if (!range) throw new PythonError('ValueError', 'Autoscale not enabled');
      return ok(`autoscale now max=${range.max} min=${range.min}`);
    },
    // Celery reloads task modules and restarts its pool; here the thread pool is recycled and its
    // new threads import task modules anew. In-process handlers have no pool to restart (and ES
    // modules cannot be reloaded in place), so the reply is the same with nothing restarted.
    pool_restart: () => {
      if (!target.restartPool) throw new PythonError('ValueError', 'Pool restarts not enabled');
      target.restartPool();
      return ok('reload started');
    },
    add_consumer: async (a) => {
      const queue = a.string('queue') ?? '';
      if (!target.addConsumer) return nok('adding consumers is not supported by this worker');
      await target.addConsumer(queue);
      return ok(`add consumer ${queue}`);
    },
    cancel_consumer: async (a) => {
      const queue = a.string('queue') ?? '';
      if (!target.cancelConsumer) return nok('cancelling consumers is not supported by this worker');
      await target.cancelConsumer(queue);
      return ok(`no longer consuming from ${queue}`);
    },
    shutdown: () => {
      // Celery's worker exits without replying; so does this one, once the reply would be moot.
      setImmediate(() => target.shutdown());
      return NO_REPLY;
    },
    // Gossip elections and mingle are Python-worker features; nothing to hold or merge here.
    election: () => null,
    hello: (a) => {
      if (a.string('from_node') === host) return null;
      return { revoked: [...target.revoked()], clock: context.clock() };
    },
    memsample: () => `${(memoryUsage.rss() / 1024 / 1024).toFixed(2)}MiB`,
  };
  const aliases: Record<string, string> = {
    dump_conf: 'conf',
    dump_tasks: 'registered',
    dump_active: 'active',
    dump_reserved: 'reserved',
    dump_schedule: 'scheduled',
    dump_revoked: 'revoked',
  };

  return async (request) => {
    const handler = handlers[aliases[request.method] ?? request.method];
    try {
      if (!handler) throw new PythonError('KeyError', request.method);
      return await handler(new Args(request.arguments));
    } catch (error) {
      const python =
        error instanceof PythonError
          ? error
          : new PythonError(
              error instanceof Error ? error.name : 'Exception',
              String((error as Error)?.message ?? error),
            );
      return nok(python.repr());
    }
  };
}

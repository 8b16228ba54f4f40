import { randomUUID } from 'node:crypto';
import type { ControlOk, ControlReply, ControlRequest } from './protocol.js';
import type { ControlTransport } from './transport.js';

/** Which nodes a command is for, and how long to wait for their replies. */
export interface ControlCallOptions {
  /** Node names (`celeriac@host`); default: every node. */
  readonly destination?: readonly string[];
  /** Select nodes by name instead: a glob (or a regex with `matcher: 'pcre'`). */
  readonly pattern?: string;
  readonly matcher?: 'glob' | 'pcre';
  /** How long to gather replies. @default 1000 */
  readonly timeoutMs?: number;
  /** Stop after this many replies. @default the number of destinations, else no limit */
  readonly limit?: number;
}

/** Options for a command with side effects: by default it waits for replies too. */
export interface ControlCommandOptions extends ControlCallOptions {
  /** Wait for replies. @default true */
  readonly reply?: boolean;
}

/** Replies by node name. A node that did not answer in time is absent. */
export type RepliesByNode<T = unknown> = Record<string, T>;

/** Options for {@link ControlClient.revoke}. */
export interface RevokeOptions extends ControlCommandOptions {
  /** Also abort running attempts (their `AbortSignal` fires). @default false */
  readonly terminate?: boolean;
  /** The signal name Celery reports. @default 'SIGTERM' */
  readonly signal?: string;
}

/** Celery's reply to a control command. */
export type CommandReply = ControlOk<string> | { readonly error: string };

/** The inspect commands, as `celery inspect <what>` names them. */
export interface ControlInspector {
  ping(): Promise<RepliesByNode<CommandReply>>;
  stats(): Promise<RepliesByNode<Record<string, unknown>>>;
  /** Running tasks. With `safe`, args are sent as their repr strings. */
  active(safe?: boolean): Promise<RepliesByNode<Record<string, unknown>[]>>;
  reserved(): Promise<RepliesByNode<Record<string, unknown>[]>>;
  scheduled(): Promise<RepliesByNode<Record<string, unknown>[]>>;
  registered(...taskInfoItems: string[]): Promise<RepliesByNode<string[]>>;
  activeQueues(): Promise<RepliesByNode<Record<string, unknown>[]>>;
  revoked(): Promise<RepliesByNode<string[]>>;
  conf(withDefaults?: boolean): Promise<RepliesByNode<Record<string, unknown>>>;
  report(): Promise<RepliesByNode<CommandReply>>;
  queryTask(...ids: string[]): Promise<RepliesByNode<Record<string, unknown>>>;
  clock(): Promise<RepliesByNode<{ clock: number }>>;
}

/** Celery's remote control from TypeScript: the same commands `app.control` sends. */
export interface ControlClient {
  /** Sends any command; with `reply: false` resolves with `{}` once it is published. */
  broadcast<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    options?: ControlCommandOptions,
  ): Promise<RepliesByNode<T>>;
  ping(options?: ControlCallOptions): Promise<RepliesByNode<CommandReply>>;
  inspect(options?: ControlCallOptions): ControlInspector;
  /** Revokes tasks on every worker; with `terminate`, running attempts are aborted too. */
  revoke(ids: string | readonly string[], options?: RevokeOptions): Promise<RepliesByNode<CommandReply>>;
  /**
   * Revokes tasks by their stamps (`{ scheme: stamp or stamps }`), as Celery's
   * `revoke_by_stamped_headers`; with `terminate`, running ones are aborted too.
   */
  revokeByStampedHeaders(
    headers: Readonly<Record<string, string | readonly string[]>>,
    options?: RevokeOptions,
  ): Promise<RepliesByNode<CommandReply>>;
  /** Sets a task's rate limit (`'10/s'`, `'100/m'`; `null` removes it). */
  rateLimit(
    task: string,
    rate: string | null,
    options?: ControlCommandOptions,
  ): Promise<RepliesByNode<CommandReply>>;
  /** Sets a task's time limits in seconds (`null` removes one). */
  timeLimit(
    task: string,
    limits: { soft?: number | null; hard?: number | null },
    options?: ControlCommandOptions,
  ): Promise<RepliesByNode<CommandReply>>;
  poolGrow(n?: number, options?: ControlCommandOptions): Promise<RepliesByNode<CommandReply>>;
  poolShrink(n?: number, options?: ControlCommandOptions): Promise<RepliesByNode<CommandReply>>;
  /**
   * Restarts workers' pools (Celery's `pool_restart`): a worker recycles the threads of its
   * `isolation: 'thread'` tasks, which import task modules anew; in-process handlers have no pool
   * to restart (ES modules cannot be reloaded in place). Replies `{ ok: 'reload started' }`.
   */
  poolRestart(options?: ControlCommandOptions): Promise<RepliesByNode<CommandReply>>;
  autoscale(max: number, min: number, options?: ControlCommandOptions): Promise<RepliesByNode<CommandReply>>;
  addConsumer(queue: string, options?: ControlCommandOptions): Promise<RepliesByNode<CommandReply>>;
  cancelConsumer(queue: string, options?: ControlCommandOptions): Promise<RepliesByNode<CommandReply>>;
  enableEvents(options?: ControlCommandOptions): Promise<RepliesByNode<CommandReply>>;
  disableEvents(options?: ControlCommandOptions): Promise<RepliesByNode<CommandReply>>;
  heartbeat(options?: ControlCommandOptions): Promise<RepliesByNode<unknown>>;
  /** Stops workers gracefully. Workers do not reply to this one (as Celery's). */
  shutdown(options?: ControlCallOptions): Promise<void>;
  close(): Promise<void>;
}

/** Options for {@link createControlClient}. */
export interface ControlClientOptions {
  /** Default reply wait. @default 1000 */
  readonly timeoutMs?: number;
  /** Close the transport with the client. @default true */
  readonly ownsTransport?: boolean;
}

/**
 * A remote-control client over any {@link ControlTransport}: what Python's `app.control` and
 * `celery inspect`/`celery control` do, for Celeriac and Python workers alike.
 *
 * @example
 * ```ts
 * const control = createControlClient(createControlTransport(url));
 * console.log(await control.ping());          // { 'celeriac@host': { ok: 'pong' } }
 * await control.revoke(handle.id, { terminate: true });
 * ```
 */
export function createControlClient(
  transport: ControlTransport,
  options: ControlClientOptions = {},
): ControlClient {
  let clock = 0;
  const defaultTimeout = options.timeoutMs ?? 1000;

  const broadcast = async <T>(
    command: string,
    args: Record<string, unknown> = {},
    o: ControlCommandOptions = {},
  ): Promise<RepliesByNode<T>> => {
    const destination = o.destination?.length ? [...o.destination] : null;
    const wantsReply = o.reply ?? true;
    const timeoutMs = o.timeoutMs ?? defaultTimeout;
    const ticket = wantsReply ? randomUUID() : undefined;
    const request: ControlRequest = {
      method: command,
      arguments: args,
      destination,
      pattern: o.pattern ?? null,
      matcher: o.pattern ? (o.matcher ?? 'glob') : null,
      ...(ticket ? { ticket, reply_to: transport.replyTo() } : {}),
    };
    const headers = { clock: ++clock, expires: Date.now() / 1000 + timeoutMs / 1000 };
    const limit = o.limit ?? destination?.length;
    const replies: ControlReply[] = await transport.publish(
      request,
      headers,
      ticket ? { ticket, timeoutMs, ...(limit ? { limit } : {}) } : undefined,
    );
    const byNode: RepliesByNode<T> = {};
    for (const reply of replies) Object.assign(byNode, reply);
    return byNode;
  };
  const call = <T>(command: string, args: Record<string, unknown>, o?: ControlCommandOptions) =>
    broadcast<T>(command, args, o);

  return {
    broadcast,
    ping: (o) => call('ping', {}, o),
    inspect(o = {}) {
      const ask = <T>(command: string, args: Record<string, unknown> = {}) => call<T>(command, args, o);
      return {
        ping: () => ask('ping'),
        stats: () => ask('stats'),
        active: (safe = false) => ask('active', { safe }),
        reserved: () => ask('reserved'),
        scheduled: () => ask('scheduled'),
        registered: (...items) => ask('registered', { taskinfoitems: items }),
        activeQueues: () => ask('active_queues'),
        revoked: () => ask('revoked'),
        conf: (withDefaults = false) => ask('conf', { with_defaults: withDefaults }),
        report: () => ask('report'),
        queryTask: (...ids) => ask('query_task', { ids }),
        clock: () => ask('clock'),
      };
    },
    revoke: (ids, o = {}) =>
      call(
        'revoke',
        {
          task_id: typeof ids === 'string' ? ids : [...ids],
          terminate: o.terminate ?? false,
          signal: o.signal ?? 'SIGTERM',
        },
        o,
      ),
    revokeByStampedHeaders: (headers, o = {}) =>
      call(
        'revoke_by_stamped_headers',
        {
          headers: Object.fromEntries(
            Object.entries(headers).map(([scheme, stamps]) => [
              scheme,
              typeof stamps === 'string' ? [stamps] : [...stamps],
            ]),
          ),
          terminate: o.terminate ?? false,
          signal: o.signal ?? 'SIGTERM',
        },
        o,
      ),
    rateLimit: (task, rate, o) => call('rate_limit', { task_name: task, rate_limit: rate }, o),
    timeLimit: (task, limits, o) =>
      call('time_limit', { task_name: task, soft: limits.soft ?? null, hard: limits.hard ?? null }, o),
    poolGrow: (n = 1, o) => call('pool_grow', { n }, o),
    poolShrink: (n = 1, o) => call('pool_shrink', { n }, o),
    poolRestart: (o) => call('pool_restart', { modules: null, reload: false, reloader: null }, o),
    autoscale: (max, min, o) => call('autoscale', { max, min }, o),
    addConsumer: (queue, o) => call('add_consumer', { queue }, o),
    cancelConsumer: (queue, o) => call('cancel_consumer', { queue }, o),
    enableEvents: (o) => call('enable_events', {}, o),
    disableEvents: (o) => call('disable_events', {}, o),
    heartbeat: (o) => call('heartbeat', {}, o),
    async shutdown(o) {
      await call('shutdown', {}, { ...o, reply: false });
    },
    async close() {
      if (options.ownsTransport ?? true) await transport.close();
    },
  };
}

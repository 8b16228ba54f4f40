import type { ControlRequestInfo, ControlStatsInfo, ControlTaskInfo } from './target.js';
import type { ControlBrokerInfo } from './transport.js';

/**
 * Celery's reply shapes, built from a {@link ControlTarget}'s answers. Field names and nesting are
 * what `celery inspect`, `app.control.inspect()` and Flower's worker pages read.
 */

/** Celery's `Request.info()`: what `active`, `reserved` and `query_task` list per task. */
export function requestInfo(
  info: ControlRequestInfo,
  hostname: string,
  safe: boolean,
): Record<string, unknown> {
  return {
    id: info.id,
    name: info.name,
    args: safe ? info.argsrepr : info.args,
    kwargs: safe ? info.kwargsrepr : info.kwargs,
    type: info.name,
    hostname,
    // Seconds since the epoch, as Python's time.time().
    time_start: info.startedAt === undefined ? null : info.startedAt / 1000,
    acknowledged: info.acknowledged,
    delivery_info: {
      exchange: '',
      routing_key: info.queue,
      priority: info.priority,
      redelivered: info.redelivered,
    },
    worker_pid: info.startedAt === undefined ? null : process.pid,
  };
}

/** Celery's `registered` entry: the name, then the requested attributes that are set. */
export function registeredEntry(task: ControlTaskInfo, items: readonly string[]): string {
  const fields = items
    .filter((item) => !item.startsWith('_'))
    .map((item) => [item, task.attributes?.[item]] as const)
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([item, value]) => `${item}=${String(value)}`);
  return fields.length ? `${task.name} [${fields.join(' ')}]` : task.name;
}

/** kombu's `Queue.as_dict(recurse=True)` for a queue Celeriac consumes (direct routing by name). */
export function queueInfo(queue: string): Record<string, unknown> {
  return {
    name: queue,
    exchange: {
      name: queue,
      type: 'direct',
      arguments: null,
      durable: true,
      passive: false,
      auto_delete: false,
      delivery_mode: null,
      no_declare: false,
    },
    routing_key: queue,
    queue_arguments: null,
    binding_arguments: null,
    consumer_arguments: null,
    durable: true,
    exclusive: false,
    auto_delete: false,
    no_ack: false,
    alias: null,
    bindings: [],
    no_declare: null,
    expires: null,
    message_ttl: null,
    max_length: null,
    max_length_bytes: null,
    max_priority: null,
  };
}

/** `getrusage(RUSAGE_SELF)` under Python's field names (seconds for CPU times, KiB for maxrss). */
function rusage(): Record<string, number> {
  const u = process.resourceUsage();
  return {
    utime: u.userCPUTime / 1e6,
    stime: u.systemCPUTime / 1e6,
    maxrss: u.maxRSS,
    ixrss: u.sharedMemorySize,
    idrss: u.unsharedDataSize,
    isrss: u.unsharedStackSize,
    minflt: u.minorPageFault,
    majflt: u.majorPageFault,
    nswap: u.swappedOut,
    inblock: u.fsRead,
    oublock: u.fsWrite,
    msgsnd: u.ipcSent,
    msgrcv: u.ipcReceived,
    nsignals: u.signalsCount,
    nvcsw: u.voluntaryContextSwitches,
    nivcsw: u.involuntaryContextSwitches,
  };
}

/** Celery's `stats` reply: totals, pool, broker, prefetch, rusage (and the autoscaler when on). */
export function statsReply(
  stats: ControlStatsInfo,
  broker: ControlBrokerInfo,
  clock: number,
  held: number,
): Record<string, unknown> {
  return {
    total: { ...stats.totals },
    pid: stats.pid,
    clock: String(clock),
    uptime: Math.round(stats.uptimeMs / 1000),
    pool: {
      // Handlers share the worker's event loop: one process, `max-concurrency` slots.
      implementation: 'celeriac:AsyncPool',
      'max-concurrency': stats.concurrency,
      processes: [stats.pid],
      'max-tasks-per-child': 'N/A',
      'put-guarded-by-semaphore': false,
      timeouts: [0, 0],
    },
    broker: {
      hostname: broker.hostname,
      userid: broker.userid,
      virtual_host: broker.virtual_host,
      port: broker.port,
      insist: false,
      ssl: broker.ssl,
      transport: broker.transport,
      connect_timeout: 4,
      transport_options: {},
      login_method: null,
      uri_prefix: null,
      heartbeat: 120.0,
      failover_strategy: 'round-robin',
      alternates: [],
    },
    prefetch_count: stats.prefetchCount,
    rusage: rusage(),
    ...(stats.autoscale
      ? {
          autoscaler: {
            max: stats.autoscale.max,
            min: stats.autoscale.min,
            current: stats.concurrency,
            qty: held,
          },
        }
      : {}),
  };
}

/** Python's `repr` of a set of strings, as Celery's revoke reply prints it: `{'a', 'b'}`. */
export function pythonSetRepr(values: readonly string[]): string {
  if (values.length === 0) return 'set()';
  return `{${values.map((v) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(', ')}}`;
}

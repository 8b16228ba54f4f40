import { loadavg, hostname as osHostname } from 'node:os';
import { boundTraceback, errorText, safeString } from '../bounded-text.js';
import { attachEventSwitch, type TaskEventSwitch } from './event-switch.js';
import type { Worker } from './worker.js';

/**
 * Where Celery events go: Redis `PUBLISH /{db}.celeryev/<routing.key>`, the AMQP `celeryev` topic
 * exchange, … Adapters provide one; the dispatcher is transport-neutral.
 */
export interface EventTransport {
  /** Sends one event (or a batch, as Celery's `task.multi`) under a routing key like `task.succeeded`. */
  publishEvent(routingKey: string, body: CeleryEvent | CeleryEvent[], hostname: string): Promise<void>;
  close(): Promise<void>;
}

/** A Celery event as monitors (Flower, `celery events`) read it: seconds, not ms; a Lamport clock. */
export interface CeleryEvent {
  type: string;
  hostname: string;
  timestamp: number;
  utcoffset: number;
  pid: number;
  clock: number;
  [field: string]: unknown;
}

/** Options for {@link sendCeleryEvents}. */
export interface CeleryEventOptions {
  /** Heartbeat interval in seconds; monitors mark a worker offline after about twice this. @default 2 */
  readonly freq?: number;
  /**
   * Send task-* events from the start (Celery's `-E`); remote control's `enable_events` and
   * `disable_events` switch them at runtime. Worker events are always sent. @default true
   */
  readonly taskEvents?: boolean;
  /** Reported as `sw_ident`. @default 'celeriac' */
  readonly softwareName?: string;
  readonly softwareVersion?: string;
  /** Called when a publish fails; events are best-effort and never fail a task. */
  readonly onError?: (error: unknown) => void;
}

function repr(value: unknown): string {
  const text = JSON.stringify(value) ?? 'None';
  return text.length > 1024 ? `${text.slice(0, 1021)}...` : text;
}

/**
 * What {@link sendCeleryEvents} returns: call it (or `stop`) to send `worker-offline` and stop;
 * switch task events and send heartbeats at runtime, as remote control does.
 */
export interface CeleryEventsHandle extends TaskEventSwitch {
  (): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Sends a worker's heartbeats and task events in Celery's format, so Flower and `celery events`
 * show TypeScript workers next to Python ones. The worker's remote control (`enable_events`,
 * `disable_events`, `heartbeat`) drives this sender.
 */
export function sendCeleryEvents(
  worker: Worker,
  transport: EventTransport,
  options: CeleryEventOptions = {},
): CeleryEventsHandle {
  const freq = options.freq ?? 2;
  const hostname = worker.hostname.includes('@') ? worker.hostname : `${worker.hostname}@${osHostname()}`;
  let clock = 0;
  const base = (type: string): CeleryEvent => ({
    type,
    hostname,
    timestamp: Date.now() / 1000,
    // Hours west of UTC, the same sign as getTimezoneOffset, as Python's time.timezone // 3600.
    utcoffset: Math.floor(new Date().getTimezoneOffset() / 60),
    pid: process.pid,
    clock: ++clock,
  });
  const send = (event: CeleryEvent) => {
    transport
      .publishEvent(event.type.replace(/-/g, '.'), event, hostname)
      .catch((e: unknown) => options.onError?.(e));
  };
  const workerEvent = (type: string): CeleryEvent => {
    const s = worker.stats();
    return {
      ...base(type),
      freq,
      active: s.active,
      processed: s.processed,
      // Not in Celery's heartbeat (Flower asks the pool); monitors use it for load.
      concurrency: s.concurrency,
      loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
      sw_ident: options.softwareName ?? 'celeriac',
      sw_ver: options.softwareVersion ?? '0.1.0',
      sw_sys: process.platform === 'linux' ? 'Linux' : process.platform,
    };
  };

  // Subscribed only while task events are on, so a disabled sender costs the worker nothing.
  let unsubscribe: (() => void)[] = [];
  const subscribeTasks = () => {
    unsubscribe.push(
      worker.on('task-received', (e) =>
        send({
          ...base('task-received'),
          uuid: e.uuid,
          name: e.name,
          // Not in Celery's task-received; monitors use it for per-queue rates.
          queue: e.queue,
          args: e.headers.argsrepr || '()',
          kwargs: e.headers.kwargsrepr || '{}',
          root_id: e.headers.root_id,
          parent_id: e.headers.parent_id,
          retries: e.retries,
          eta: e.headers.eta,
          expires: e.headers.expires,
        }),
      ),
      worker.on('task-started', (e) => send({ ...base('task-started'), uuid: e.uuid })),
      worker.on('task-succeeded', (e) =>
        send({
          ...base('task-succeeded'),
          uuid: e.uuid,
          result: repr(e.result),
          runtime: e.runtimeMs / 1000,
        }),
      ),
      worker.on('task-failed', (e) =>
        send({
          ...base('task-failed'),
          uuid: e.uuid,
          exception: errorRepr(e.error),
          traceback: tracebackText(e.error),
        }),
      ),
      worker.on('task-retried', (e) =>
        send({
          ...base('task-retried'),
          uuid: e.uuid,
          exception: errorRepr(e.error),
          traceback: tracebackText(e.error),
        }),
      ),
      worker.on('task-revoked', (e) =>
        send({ ...base('task-revoked'), uuid: e.uuid, terminated: false, signum: null, expired: e.expired }),
      ),
      worker.on('task-rejected', (e) => {
        if (e.uuid) send({ ...base('task-rejected'), uuid: e.uuid, requeue: false });
      }),
    );
  };
  const unsubscribeTasks = () => {
    for (const u of unsubscribe) u();
    unsubscribe = [];
  };
  let taskEvents = options.taskEvents ?? true;
  if (taskEvents) subscribeTasks();
  send(workerEvent('worker-online'));
  const heartbeat = () => send(workerEvent('worker-heartbeat'));
  const timer = setInterval(heartbeat, freq * 1000);
  timer.unref();
  const switches: TaskEventSwitch = {
    get taskEvents() {
      return taskEvents;
    },
    setTaskEvents(enabled) {
      const before = taskEvents;
      if (enabled && !before) subscribeTasks();
      if (!enabled && before) unsubscribeTasks();
      taskEvents = enabled;
      return before;
    },
    heartbeat,
  };
  const detach = attachEventSwitch(worker, switches);
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      clearInterval(timer);
      detach();
      unsubscribeTasks();
      await transport
        .publishEvent('worker.offline', workerEvent('worker-offline'), hostname)
        .catch((e: unknown) => options.onError?.(e));
    })();
    return stopped;
  };
  return Object.defineProperties(stop, {
    stop: { value: stop },
    taskEvents: { get: () => taskEvents },
    setTaskEvents: { value: switches.setTaskEvents },
    heartbeat: { value: heartbeat },
  }) as CeleryEventsHandle;
}

// Bounded, as stored results are: a handler may throw megabytes of message.
function errorRepr(error: unknown): string {
  return error instanceof Error
    ? `${safeString(error.name)}(${JSON.stringify(errorText(error))})`
    : errorText(error);
}

function tracebackText(error: unknown): string {
  return error instanceof Error && error.stack != null ? boundTraceback(safeString(error.stack)) : '';
}

import { hostname as osHostname } from 'node:os';
import { type ResultBackend, TaskState } from '../result-backend.js';
import { buildMeta } from '../result-meta.js';
import type { TaskImplementation } from '../worker/implement.js';
import type { Worker } from '../worker/worker.js';
import { type ControlNode, startControlNode } from './node.js';
import { RevokedSet, type RevokedSetOptions } from './revoked-set.js';
import type { ControlRequestInfo, ControlTarget, ControlTaskInfo } from './target.js';
import type { ControlTransport } from './transport.js';

/** The task events a worker with Celery events can toggle and trigger from remote. */
export interface TaskEventsSwitch {
  /** Turns task events on or off; returns whether they were on. */
  setTaskEvents(enabled: boolean): boolean;
  /** Sends a `worker-heartbeat` now. */
  heartbeat(): void;
}

/** Options for {@link serveControl}. */
export interface ServeControlOptions {
  /** The implementations the worker runs, for `registered`. */
  readonly tasks: readonly TaskImplementation[];
  /** Where a broadcast `revoke` stores REVOKED for tasks not started yet, so every worker skips them. */
  readonly backend?: ResultBackend;
  /** The worker's `prefetch` option, for `stats`. @default 0 */
  readonly prefetch?: number;
  /** The worker's Celery events, for `enable_events`, `disable_events` and `heartbeat`. */
  readonly events?: TaskEventsSwitch;
  /** Bounds of the in-memory revoked set. */
  readonly revoked?: RevokedSetOptions;
  /** Called when a command fails in a way its reply cannot show (e.g. the reply cannot be sent). */
  readonly onError?: (error: unknown) => void;
}

/** States a revoke may overwrite: the task has not started anywhere (Celery's `_revoke`). */
const REVOCABLE = new Set<string>([TaskState.PENDING, 'RECEIVED', TaskState.RETRY, 'REJECTED']);

/** Tasks this worker holds, from its task events. */
function trackHeld(worker: Worker) {
  const held = new Map<string, { info: ControlRequestInfo; name: string }>();
  const totals: Record<string, number> = {};
  const drop = (e: { uuid: string | null }) => {
    if (e.uuid) held.delete(e.uuid);
  };
  const off = [
    worker.on('task-received', (e) => {
      held.set(e.uuid, {
        name: e.name,
        info: {
          id: e.uuid,
          name: e.name,
          args: [],
          kwargs: {},
          argsrepr: e.headers.argsrepr || '()',
          kwargsrepr: e.headers.kwargsrepr || '{}',
          queue: e.queue,
          priority: null,
          redelivered: e.deliveryCount > 1,
          acknowledged: false,
        },
      });
    }),
    worker.on('task-started', (e) => {
      totals[e.name] = (totals[e.name] ?? 0) + 1;
      const entry = held.get(e.uuid);
      if (entry) entry.info = { ...entry.info, startedAt: Date.now() };
    }),
    worker.on('task-succeeded', drop),
    worker.on('task-failed', drop),
    worker.on('task-retried', drop),
    worker.on('task-revoked', drop),
    worker.on('task-rejected', drop),
  ];
  return {
    active: () => [...held.values()].filter((h) => h.info.startedAt !== undefined).map((h) => h.info),
    reserved: () => [...held.values()].filter((h) => h.info.startedAt === undefined).map((h) => h.info),
    isActive: (id: string) => held.get(id)?.info.startedAt !== undefined,
    totals,
    stop: () => {
      for (const o of off) o();
    },
  };
}

/**
 * Makes a worker answer Celery's remote control over `transport`: `celery inspect` (ping, stats,
 * active, reserved, registered, active_queues, revoked, …), `celery control` (revoke, pool_grow,
 * enable_events, shutdown, …), Python's `app.control` and Flower's worker pages. The node name is
 * the worker's hostname, as in its Celery events. Resolves once commands are received; the node
 * stops on `stop()` or when the worker goes offline.
 *
 * @example
 * ```ts
 * const node = await serveControl(worker, createControlTransport(url), { tasks, backend });
 * ```
 */
export async function serveControl(
  worker: Worker,
  transport: ControlTransport,
  options: ServeControlOptions,
): Promise<ControlNode> {
  const hostname = worker.hostname.includes('@') ? worker.hostname : `${worker.hostname}@${osHostname()}`;
  const held = trackHeld(worker);
  const revoked = new RevokedSet(options.revoked);
  const backend = options.backend;
  const tasks: ControlTaskInfo[] = options.tasks.map(({ contract }) => ({
    name: contract.name,
    attributes: {
      queue: contract.defaults.queue,
      time_limit: contract.defaults.timeoutMs === undefined ? null : contract.defaults.timeoutMs / 1000,
      soft_time_limit:
        contract.defaults.softTimeoutMs === undefined ? null : contract.defaults.softTimeoutMs / 1000,
    },
  }));

  const target: ControlTarget = {
    hostname,
    stats: () => {
      const s = worker.stats();
      return {
        pid: process.pid,
        uptimeMs: s.uptimeMs,
        concurrency: s.concurrency,
        prefetchCount: s.concurrency + (options.prefetch ?? 0),
        totals: { ...held.totals },
      };
    },
    registered: () => tasks,
    active: held.active,
    reserved: held.reserved,
    revoked: () => revoked.ids(),
    queues: () => worker.queues,
    async revoke(ids) {
      revoked.add(ids);
      // Workers read the stored state before running a task, so REVOKED stops it fleet-wide.
      const waiting = ids.filter((id) => !held.isActive(id));
      if (backend && waiting.length) {
        const metas = await backend.getMany(waiting);
        await Promise.all(
          waiting.map((id, i) => {
            const state = metas[i]?.status ?? TaskState.PENDING;
            if (!REVOCABLE.has(state)) return undefined;
            return backend.store(
              buildMeta(TaskState.REVOKED, id, {
                exc_type: 'TaskRevokedError',
                exc_message: ['revoked'],
                exc_module: 'celery.exceptions',
              }),
            );
          }),
        );
      }
      return [];
    },
    setConcurrency: (n) => worker.setConcurrency(n),
    ...(options.events
      ? {
          setTaskEvents: (enabled: boolean) => options.events?.setTaskEvents(enabled),
          heartbeat: () => options.events?.heartbeat(),
        }
      : {}),
    shutdown: () => void worker.stop(),
  };

  const node = await startControlNode({
    transport,
    target,
    ...(options.onError ? { onError: options.onError } : {}),
  });
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      offline();
      held.stop();
      await node.stop();
    })();
    return stopped;
  };
  const offline = worker.on('worker-offline', () => void stop().catch(options.onError));
  return { hostname, clock: node.clock, stop };
}

import { hostname as osHostname } from 'node:os';
import type { Delivery, TaskDelivery } from '../broker.js';
import { TaskRevokedError } from '../errors.js';
import type { TaskHeaders } from '../message.js';
import type { ResultBackend } from '../result-backend.js';
import { TaskState } from '../result-backend.js';
import { buildMeta } from '../result-meta.js';
import type { TaskEventSwitch } from '../worker/event-switch.js';
import type { TaskImplementation } from '../worker/implement.js';
import type { WorkerStats } from '../worker/worker.js';
import { type ControlNode, startControlNode } from './node.js';
import { DEFAULT_REVOKE_TTL_MS, hasRevokeStore } from './revoke-store.js';
import { RevokedSet } from './revoked-set.js';
import { RevokedStamps } from './revoked-stamps.js';
import type { ControlRequestInfo, ControlTarget, ControlTimeLimits } from './target.js';
import type { ControlTransport } from './transport.js';

/** What the runner asks the worker's control plane, per task. */
export interface RunnerControl {
  /**
   * Revoked (by broadcast, by a handle, or loaded at start), or carrying a stamp revoked by
   * `revoke_by_stamped_headers`: skip without running.
   */
  isRevoked(id: string, headers?: Pick<TaskHeaders, 'stamped_headers' | 'stamps'>): boolean;
  /**
   * Whether revokes reach this worker without reading each task's state first (it holds the
   * fleet's revoked set); only a redelivery then needs the read, to skip a finished task.
   */
  readonly revokesKnown: boolean;
  /** The handler starts; `abort` fires its signal (a terminate). */
  started(d: TaskDelivery, abort: (reason: unknown) => void): void;
  /** The delivery is settled: the task is no longer held. */
  ended(id: string): void;
  /** Whether the running attempt was terminated by a revoke (REVOKED is stored already). */
  terminated(id: string): boolean;
  /** Limits set by `time_limit` for a task, which override the contract's. */
  limitsFor(task: string): { softMs?: number; hardMs?: number } | undefined;
}

/** What the control plane needs from its worker. */
export interface WorkerControlDeps {
  readonly hostname: string;
  readonly queues: readonly string[];
  readonly registry: ReadonlyMap<string, TaskImplementation>;
  readonly backend: ResultBackend | undefined;
  readonly transport: ControlTransport | undefined;
  readonly prefetch: number;
  stats(): WorkerStats;
  /** Deliveries waiting for a free slot. */
  backlog(): readonly Delivery[];
  setConcurrency(n: number): void;
  /** The autoscale range, if the worker autoscales. */
  autoscale(): { min: number; max: number } | undefined;
  setAutoscale(range: { min: number; max: number }): void;
  stop(): Promise<void>;
  onError(error: unknown): void;
  /** Changes a task's rate limit (`null` lifts it); `false` when the task is not registered. */
  setRateLimit?(task: string, rate: string | null): boolean;
  /** A task's rate limit now, as Celery writes it (`'20/s'`), or `null`. */
  rateLimitOf?(task: string): string | null;
  /** Starts consuming a queue (`add_consumer`); `queues` then lists it. */
  addQueue?(queue: string): Promise<void>;
  /** Stops consuming a queue (`cancel_consumer`); held deliveries of it still finish. */
  cancelQueue?(queue: string): Promise<void>;
  /** Recycles the thread pool; `false` without one. */
  restartPool?(): boolean;
  /** The worker's Celery event sender, when one runs. */
  eventSwitch?(): TaskEventSwitch | undefined;
}

interface Held {
  readonly delivery: TaskDelivery;
  readonly startedAt: number;
  readonly abort: (reason: unknown) => void;
  terminated: boolean;
}

const REVOKED_INFO = (reason: string) => ({
  exc_type: 'TaskRevokedError',
  exc_message: [reason],
  exc_module: 'celery.exceptions',
});

/** States a revoke may overwrite: the task has not started anywhere (Celery's `_revoke`). */
const REVOCABLE = new Set<string>([TaskState.PENDING, 'RECEIVED', TaskState.RETRY, 'REJECTED']);

function info(d: TaskDelivery, startedAt?: number): ControlRequestInfo {
  const { headers, body, properties } = d.message;
  return {
    id: headers.id,
    name: headers.task,
    args: body[0],
    kwargs: body[1],
    argsrepr: headers.argsrepr || JSON.stringify(body[0]),
    kwargsrepr: headers.kwargsrepr || JSON.stringify(body[1]),
    queue: d.queue,
    priority: properties.priority ?? null,
    redelivered: d.deliveryCount > 1,
    acknowledged: false,
    ...(startedAt === undefined ? {} : { startedAt }),
  };
}

/**
 * A worker's control plane: the revoked set (loaded from the backend's revoke store and kept
 * current from it and from broadcasts), the running tasks with their abort handles, per-task limit
 * overrides, and — given a transport — the node answering Celery's remote control.
 */
export class WorkerControl implements RunnerControl {
  private readonly revoked = new RevokedSet({ ttlMs: DEFAULT_REVOKE_TTL_MS });
  private readonly revokedStamps = new RevokedStamps();
  private readonly running = new Map<string, Held>();
  private readonly limits = new Map<string, { softMs?: number; hardMs?: number }>();
  private readonly totals: Record<string, number> = {};
  private readonly hostname: string;
  private node: ControlNode | undefined;
  private stopStore: (() => Promise<void>) | undefined;
  private storeReady = false;

  constructor(private readonly deps: WorkerControlDeps) {
    this.hostname = deps.hostname.includes('@') ? deps.hostname : `${deps.hostname}@${osHostname()}`;
  }

  get revokesKnown(): boolean {
    return this.storeReady;
  }

  isRevoked(id: string, headers?: Pick<TaskHeaders, 'stamped_headers' | 'stamps'>): boolean {
    if (this.revoked.size > 0 && this.revoked.has(id)) return true;
    return headers !== undefined && this.revokedStamps.matches(headers);
  }

  started(d: TaskDelivery, abort: (reason: unknown) => void): void {
    const name = d.message.headers.task;
    this.totals[name] = (this.totals[name] ?? 0) + 1;
    if (this.node)
      this.running.set(d.message.headers.id, {
        delivery: d,
        startedAt: Date.now(),
        abort,
        terminated: false,
      });
  }

  ended(id: string): void {
    if (this.running.size > 0) this.running.delete(id);
  }

  terminated(id: string): boolean {
    return this.running.get(id)?.terminated ?? false;
  }

  limitsFor(task: string): { softMs?: number; hardMs?: number } | undefined {
    return this.limits.size > 0 ? this.limits.get(task) : undefined;
  }

  /** Loads the revoke store and follows it; starts answering remote control. */
  async start(): Promise<void> {
    const backend = this.deps.backend;
    if (hasRevokeStore(backend)) {
      const reload = async () => {
        const entries = (await backend.loadRevoked()).sort((a, b) => a.expiresAt - b.expiresAt);
        // Aged in memory as in the store: an entry counts as added one TTL before it expires.
        for (const e of entries) this.revoked.add([e.id], e.expiresAt - DEFAULT_REVOKE_TTL_MS);
      };
      this.stopStore = await backend.onRevoked(
        (ids) => this.revoked.add(ids),
        () => void reload().catch((error: unknown) => this.deps.onError(error)),
      );
      await reload();
      this.storeReady = true;
    }
    if (this.deps.transport) {
      this.node = await startControlNode({
        transport: this.deps.transport,
        target: this.target(),
        onError: (error) => this.deps.onError(error),
      });
    }
  }

  async stop(): Promise<void> {
    await this.node?.stop();
    this.node = undefined;
    await this.stopStore?.();
    this.stopStore = undefined;
  }

  /** Revokes ids here and fleet-wide; with `terminate`, aborts their running attempts. */
  async revoke(ids: readonly string[], terminate: boolean): Promise<string[]> {
    this.revoked.add(ids);
    const backend = this.deps.backend;
    const terminated: string[] = [];
    const writes: Promise<unknown>[] = [];
    if (hasRevokeStore(backend)) writes.push(backend.addRevoked(ids));
    const waiting: string[] = [];
    for (const id of ids) {
      const held = this.running.get(id);
      if (!held) {
        waiting.push(id);
        continue;
      }
      if (!terminate || held.terminated) continue;
      held.terminated = true;
      terminated.push(id);
      // Stored now, so callers see REVOKED at once; the ready state is final, so whatever the
      // handler does next cannot store over it.
      if (backend && !held.delivery.message.headers.ignore_result)
        writes.push(
          backend.store(
            buildMeta(TaskState.REVOKED, id, REVOKED_INFO('terminated'), { message: held.delivery.message }),
          ),
        );
      held.abort(new TaskRevokedError('terminated'));
    }
    if (backend && waiting.length) writes.push(this.markRevoked(backend, waiting));
    await Promise.all(writes);
    return terminated;
  }

  /**
   * Celery's `revoke_by_stamped_headers`: tasks carrying one of the stamps will not run here; with
   * `terminate`, running ones are aborted as by `revoke`. Resolves with the stamps hit, by scheme.
   */
  async revokeByStamps(
    headers: Readonly<Record<string, readonly string[]>>,
    terminate: boolean,
  ): Promise<Record<string, string[]>> {
    this.revokedStamps.add(headers);
    if (!terminate) return {};
    const hit: Record<string, Set<string>> = {};
    const ids: string[] = [];
    for (const held of this.running.values()) {
      const found = RevokedStamps.hits(held.delivery.message.headers, headers);
      if (Object.keys(found).length === 0) continue;
      ids.push(held.delivery.message.headers.id);
      for (const [scheme, stamps] of Object.entries(found)) {
        const known = hit[scheme] ?? new Set<string>();
        for (const stamp of stamps) known.add(stamp);
        hit[scheme] = known;
      }
    }
    if (ids.length) await this.revoke(ids, true);
    return Object.fromEntries(Object.entries(hit).map(([k, v]) => [k, [...v]]));
  }

  /** Celery's `_revoke` for tasks not running here: REVOKED unless another worker started them. */
  private async markRevoked(backend: ResultBackend, ids: readonly string[]): Promise<void> {
    const metas = await backend.getMany(ids);
    await Promise.all(
      ids.map((id, i) =>
        REVOCABLE.has(metas[i]?.status ?? TaskState.PENDING)
          ? backend.store(buildMeta(TaskState.REVOKED, id, REVOKED_INFO('revoked')))
          : undefined,
      ),
    );
  }

  private target(): ControlTarget {
    const d = this.deps;
    return {
      hostname: this.hostname,
      stats: () => {
        const s = d.stats();
        const range = d.autoscale();
        return {
          pid: process.pid,
          uptimeMs: s.uptimeMs,
          concurrency: s.concurrency,
          prefetchCount: s.concurrency + d.prefetch,
          totals: { ...this.totals },
          ...(range ? { autoscale: range } : {}),
        };
      },
      registered: () =>
        [...d.registry.values()].map(({ contract }) => {
          const own = this.limits.get(contract.name);
          const hard = own?.hardMs ?? contract.defaults.timeoutMs;
          const soft = own?.softMs ?? contract.defaults.softTimeoutMs;
          return {
            name: contract.name,
            attributes: {
              queue: contract.defaults.queue,
              time_limit: hard === undefined ? null : hard / 1000,
              soft_time_limit: soft === undefined ? null : soft / 1000,
              rate_limit: d.rateLimitOf?.(contract.name) ?? null,
            },
          };
        }),
      active: () => [...this.running.values()].map((h) => info(h.delivery, h.startedAt)),
      reserved: () =>
        d
          .backlog()
          .filter((x): x is TaskDelivery => x.kind === 'task')
          .map((x) => info(x)),
      revoked: () => this.revoked.ids(),
      queues: () => d.queues,
      revoke: (ids, o) => this.revoke(ids, o.terminate),
      revokeByStampedHeaders: (headers, o) => this.revokeByStamps(headers, o.terminate),
      ...(d.addQueue ? { addConsumer: d.addQueue } : {}),
      ...(d.cancelQueue ? { cancelConsumer: d.cancelQueue } : {}),
      setTaskEvents: (enabled) => d.eventSwitch?.()?.setTaskEvents(enabled),
      heartbeat: () => d.eventSwitch?.()?.heartbeat(),
      setTimeLimit: (task, l: ControlTimeLimits) => {
        if (!d.registry.has(task)) return false;
        const limits: { softMs?: number; hardMs?: number } = {};
        if (l.soft !== null && l.soft > 0) limits.softMs = l.soft * 1000;
        if (l.hard !== null && l.hard > 0) limits.hardMs = l.hard * 1000;
        this.limits.set(task, limits);
        return true;
      },
      ...(d.setRateLimit ? { setRateLimit: d.setRateLimit } : {}),
      setConcurrency: (n) => d.setConcurrency(n),
      autoscale: (max, min) => {
        const range = d.autoscale();
        if (!range) return undefined;
        const next = { max: max ?? range.max, min: min ?? range.min };
        d.setAutoscale(next);
        return next;
      },
      ...(d.restartPool ? { restartPool: d.restartPool } : {}),
      shutdown: () => void d.stop().catch((error: unknown) => d.onError(error)),
    };
  }
}

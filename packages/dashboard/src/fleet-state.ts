import type { CeleryEvent } from '@celeriac/core/worker';
import { applyTaskEvent, newTaskRecord, TASK_EVENT_STATES, type TaskRecord } from './task-record.js';
import { Throughput, type ThroughputPoint } from './throughput.js';
import { applyWorkerEvent, isAlive, newWorkerRecord, type WorkerRecord } from './worker-record.js';

/** A worker as the page shows it. */
export interface WorkerView extends WorkerRecord {
  readonly alive: boolean;
}

/** What the live page needs, pushed over SSE. */
export interface FleetSnapshot {
  readonly at: number;
  readonly workers: readonly WorkerView[];
  /** Tasks known to the dashboard, by state. */
  readonly states: Readonly<Record<string, number>>;
  readonly recent: readonly TaskRecord[];
  readonly throughput: readonly ThroughputPoint[];
}

/** Options of {@link FleetState}. */
export interface FleetStateOptions {
  /** Tasks kept in memory, the least recently updated dropped first. @default 10_000 */
  readonly maxTasks?: number;
  /** Workers kept; the longest silent is dropped first. @default 1_000 */
  readonly maxWorkers?: number;
  /** Called for every `task-received` that names its queue (for per-queue rates). */
  readonly onTaken?: (queue: string) => void;
}

/** A task search. */
export interface TaskQuery {
  /** A task id (or its start), or part of a task name. */
  readonly q?: string;
  readonly state?: string;
  readonly limit?: number;
}

/**
 * The fleet as the Celery event stream tells it: workers with their heartbeats, tasks with their
 * state timelines, throughput and run time. Bounded in memory; a task older than the bound is
 * still found through the result backend.
 */
export class FleetState {
  /** Insertion order is recency: an updated task moves to the end. */
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly workers = new Map<string, WorkerRecord>();
  private readonly throughput = new Throughput();
  private readonly maxTasks: number;
  private readonly maxWorkers: number;
  /** Grows with every event applied, so pushers can skip unchanged snapshots. */
  version = 0;

  constructor(private readonly options: FleetStateOptions = {}) {
    this.maxTasks = options.maxTasks ?? 10_000;
    this.maxWorkers = options.maxWorkers ?? 1_000;
  }

  /** Folds one event in; unknown event types are ignored. */
  apply(event: CeleryEvent, now = Date.now()): void {
    if (typeof event.hostname !== 'string') return;
    if (event.type.startsWith('worker-')) {
      this.worker(event.hostname, now, event.type !== 'worker-offline');
      const worker = this.workers.get(event.hostname);
      if (worker) applyWorkerEvent(worker, event, now);
      this.version++;
      return;
    }
    if (!(event.type in TASK_EVENT_STATES) || typeof event.uuid !== 'string') return;
    let task = this.tasks.get(event.uuid);
    if (task) this.tasks.delete(event.uuid);
    else task = newTaskRecord(event.uuid, now);
    this.tasks.set(event.uuid, task);
    if (this.tasks.size > this.maxTasks) {
      const oldest = this.tasks.keys().next().value;
      if (oldest !== undefined) this.tasks.delete(oldest);
    }
    applyTaskEvent(task, event, now);
    const worker = this.worker(event.hostname, now, true);
    if (event.type === 'task-received' && typeof event.queue === 'string')
      this.options.onTaken?.(event.queue);
    if (event.type === 'task-succeeded' || event.type === 'task-failed') {
      const outcome = event.type === 'task-succeeded' ? 'succeeded' : 'failed';
      if (worker) worker[outcome]++;
      this.throughput.record(outcome, typeof event.runtime === 'number' ? event.runtime : null, now);
    }
    this.version++;
  }

  /** The worker's record, made on first sight of a live worker (a lone offline event makes none). */
  private worker(hostname: string, now: number, create: boolean): WorkerRecord | undefined {
    let worker = this.workers.get(hostname);
    if (!worker && create) {
      if (this.workers.size >= this.maxWorkers) {
        const silent = [...this.workers.values()].reduce((a, b) => (b.lastSeen < a.lastSeen ? b : a));
        this.workers.delete(silent.hostname);
      }
      worker = newWorkerRecord(hostname, now);
      this.workers.set(hostname, worker);
    }
    return worker;
  }

  /** A task the events told about. */
  task(uuid: string): TaskRecord | undefined {
    return this.tasks.get(uuid);
  }

  /** Tasks matching a query, most recently updated first. */
  search(query: TaskQuery = {}): TaskRecord[] {
    const q = query.q?.trim().toLowerCase() ?? '';
    const limit = Math.min(Math.max(query.limit ?? 100, 1), 1_000);
    const out: TaskRecord[] = [];
    for (const task of [...this.tasks.values()].reverse()) {
      if (query.state && task.state !== query.state) continue;
      if (q && !task.uuid.startsWith(q) && !(task.name ?? '').toLowerCase().includes(q)) continue;
      out.push(task);
      if (out.length >= limit) break;
    }
    return out;
  }

  snapshot(now = Date.now()): FleetSnapshot {
    const states: Record<string, number> = {};
    for (const task of this.tasks.values()) states[task.state] = (states[task.state] ?? 0) + 1;
    return {
      at: now,
      workers: [...this.workers.values()]
        .map((w) => ({ ...w, alive: isAlive(w, now) }))
        .sort((a, b) => a.hostname.localeCompare(b.hostname)),
      states,
      recent: this.search({ limit: 50 }),
      throughput: this.throughput.points(now),
    };
  }
}

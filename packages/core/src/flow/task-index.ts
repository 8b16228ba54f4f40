/**
 * The bounded index of recent tasks a result backend may keep (opt-in): what workers saw of each
 * task, newest first, capped so it never grows without bound.
 *
 * @packageDocumentation
 */
import { ConfigError, UnsupportedError } from '../errors.js';
import type { ResultBackend, TaskState } from '../result-backend.js';

/** One task as the index knows it: its latest state and when it was recorded. */
export interface TaskSummary {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly state: TaskState | (string & {});
  /** When this state was recorded (ms since the epoch). */
  readonly at: number;
  /** The worker that recorded it. */
  readonly worker: string;
}

/** A query over the index; every field narrows it. */
export interface TaskListQuery {
  readonly state?: TaskState | (string & {});
  readonly name?: string;
  readonly queue?: string;
  /** Recorded at or after this time. */
  readonly since?: Date | number;
  /** Most tasks returned, newest first. @default 100 */
  readonly limit?: number;
}

/** Where an index is kept. */
export interface TaskIndex {
  /** Most tasks kept; 0 when this backend writes no index (it may still list one that others keep). */
  readonly taskIndexSize: number;
  /** Records the latest state of tasks (a task already in the index moves to the front). */
  indexTasks(entries: readonly TaskSummary[]): Promise<void>;
  /** Tasks matching the query, newest first. */
  listTasks(query: TaskListQuery): Promise<TaskSummary[]>;
}

/** A result backend that can keep a task index, as its `taskIndex`. */
export interface WithTaskIndex {
  readonly taskIndex: TaskIndex;
}

/**
 * The {@link TaskIndex} of a backend, if it has one (it may list an index that writers keep even
 * when it writes none itself: `taskIndexSize` 0).
 */
export function taskIndexOf(backend: ResultBackend | undefined): TaskIndex | undefined {
  const index = (backend as Partial<WithTaskIndex> | undefined)?.taskIndex;
  return typeof index?.indexTasks === 'function' &&
    typeof index.listTasks === 'function' &&
    typeof index.taskIndexSize === 'number'
    ? index
    : undefined;
}

/** Whether a summary matches a query (everything but the limit). */
export function matchesQuery(entry: TaskSummary, query: TaskListQuery, sinceMs: number): boolean {
  return (
    entry.at >= sinceMs &&
    (query.state === undefined || entry.state === query.state) &&
    (query.name === undefined || entry.name === query.name) &&
    (query.queue === undefined || entry.queue === query.queue)
  );
}

/** The query's `since` in ms (0 when unset). */
export function sinceOf(query: TaskListQuery): number {
  const since = query.since;
  return since === undefined ? 0 : typeof since === 'number' ? since : since.getTime();
}

/** How a backend is asked to keep an index: `true` for the default size, or `{ max }`. */
export type TaskIndexOption = boolean | { readonly max?: number };

/** Entries kept when `taskIndex: true`. */
export const DEFAULT_TASK_INDEX_SIZE = 10_000;

/** The size an option asks for; 0 for none. */
export function taskIndexSizeOf(option: TaskIndexOption | undefined): number {
  if (!option) return 0;
  const max = option === true ? DEFAULT_TASK_INDEX_SIZE : (option.max ?? DEFAULT_TASK_INDEX_SIZE);
  if (!Number.isInteger(max) || max < 0)
    throw new ConfigError(`taskIndex.max must be an integer ≥ 0, got ${max}`);
  return max;
}

/** `limit` of a listing that sets none. */
export const DEFAULT_LIST_LIMIT = 100;

/**
 * An in-process index: a map in insertion order (a re-recorded task moves to the end), trimmed
 * from the oldest. The memory backend's, and a reference for adapters.
 */
export class MemoryTaskIndex implements TaskIndex {
  private readonly entries = new Map<string, TaskSummary>();

  constructor(readonly taskIndexSize: number) {}

  async indexTasks(entries: readonly TaskSummary[]): Promise<void> {
    if (this.taskIndexSize <= 0) return;
    for (const e of entries) {
      this.entries.delete(e.id);
      this.entries.set(e.id, { ...e });
    }
    for (const id of this.entries.keys()) {
      if (this.entries.size <= this.taskIndexSize) break;
      this.entries.delete(id);
    }
  }

  async listTasks(query: TaskListQuery): Promise<TaskSummary[]> {
    // In one process, an index nobody keeps is not there at all.
    if (this.taskIndexSize <= 0)
      throw new UnsupportedError('memory result backend', 'listing tasks (create it with taskIndex)');
    const limit = query.limit ?? DEFAULT_LIST_LIMIT;
    const since = sinceOf(query);
    const out: TaskSummary[] = [];
    const newestFirst = [...this.entries.values()].sort((a, b) => b.at - a.at);
    for (const e of newestFirst) {
      if (out.length >= limit) break;
      if (matchesQuery(e, query, since)) out.push({ ...e });
    }
    return out;
  }
}

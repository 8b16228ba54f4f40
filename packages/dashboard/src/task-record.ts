import type { CeleryEvent } from '@celeriac/core/worker';

/** One state a task went through, as an event reported it. */
export interface TimelineEntry {
  readonly state: string;
  /** When the sender says it happened, ms since the epoch. */
  readonly at: number;
  readonly hostname: string;
}

/** What the events told about one task. */
export interface TaskRecord {
  readonly uuid: string;
  name: string | null;
  state: string;
  queue: string | null;
  hostname: string | null;
  args: string | null;
  kwargs: string | null;
  result: string | null;
  exception: string | null;
  traceback: string | null;
  /** Handler run time in seconds, once finished. */
  runtime: number | null;
  retries: number;
  rootId: string | null;
  parentId: string | null;
  /** When the task was received, and when its last event arrived, ms since the epoch. */
  received: number | null;
  updated: number;
  readonly timeline: TimelineEntry[];
}

/** Celery's task event types and the state each one means. */
export const TASK_EVENT_STATES: Readonly<Record<string, string>> = {
  'task-sent': 'PENDING',
  'task-received': 'RECEIVED',
  'task-started': 'STARTED',
  'task-succeeded': 'SUCCESS',
  'task-failed': 'FAILURE',
  'task-retried': 'RETRY',
  'task-revoked': 'REVOKED',
  'task-rejected': 'REJECTED',
};

/** Most timeline entries kept per task (a task retried without end must not grow without end). */
const MAX_TIMELINE = 50;

const text = (value: unknown): string | null =>
  value === undefined || value === null ? null : typeof value === 'string' ? value : JSON.stringify(value);

/** A new record for a task first seen in `event`. */
export function newTaskRecord(uuid: string, now: number): TaskRecord {
  return {
    uuid,
    name: null,
    state: 'PENDING',
    queue: null,
    hostname: null,
    args: null,
    kwargs: null,
    result: null,
    exception: null,
    traceback: null,
    runtime: null,
    retries: 0,
    rootId: null,
    parentId: null,
    received: null,
    updated: now,
    timeline: [],
  };
}

/** Folds one task event into its record. */
export function applyTaskEvent(record: TaskRecord, event: CeleryEvent, now: number): void {
  const state = TASK_EVENT_STATES[event.type];
  if (!state) return;
  const at = Number.isFinite(event.timestamp) ? event.timestamp * 1000 : now;
  record.timeline.push({ state, at, hostname: event.hostname });
  if (record.timeline.length > MAX_TIMELINE) record.timeline.splice(0, record.timeline.length - MAX_TIMELINE);
  // Events of one task may arrive out of order from different workers: the latest sent time wins.
  const latest = record.timeline.reduce((a, b) => (b.at >= a.at ? b : a));
  record.state = latest.state;
  record.hostname = event.hostname;
  record.updated = now;
  record.name = text(event.name) ?? record.name;
  if (event.type === 'task-received' || event.type === 'task-sent') {
    record.queue = text(event.queue) ?? record.queue;
    record.args = text(event.args) ?? record.args;
    record.kwargs = text(event.kwargs) ?? record.kwargs;
    record.rootId = text(event.root_id) ?? record.rootId;
    record.parentId = text(event.parent_id) ?? record.parentId;
    if (typeof event.retries === 'number') record.retries = event.retries;
    if (event.type === 'task-received') record.received ??= at;
  }
  if (event.type === 'task-succeeded') {
    record.result = text(event.result);
    if (typeof event.runtime === 'number') record.runtime = event.runtime;
  }
  if (event.type === 'task-failed' || event.type === 'task-retried') {
    record.exception = text(event.exception);
    record.traceback = text(event.traceback);
    if (typeof event.runtime === 'number') record.runtime = event.runtime;
  }
}

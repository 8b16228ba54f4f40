/**
 * Flow control on the producer side: deduplicated enqueues, fleet-wide queue pauses, and listing
 * recent tasks. Imports no worker code.
 */
import { ConfigError, UnsupportedError } from '../errors.js';
import type { TaskMessage } from '../message.js';
import type { ResultBackend } from '../result-backend.js';
import { DEDUPE_HEADER, type DedupeHeader, dedupeStoreKey } from './flow-headers.js';
import { type DedupeMode, type FlowStore, flowStoreOf } from './flow-store.js';
import { type TaskListQuery, type TaskSummary, taskIndexOf } from './task-index.js';

/** How long a holder that never finishes (lost, or run by a worker that does not end holds) keeps a `skip`, `replace` or `debounce` key. */
export const DEDUPE_HOLD_MS = 24 * 60 * 60 * 1000;

/**
 * `enqueue(task, input, { dedupe })`: what a second enqueue with the same key does (keys are per
 * task name; the decision is atomic in the result backend).
 *
 * - `skip` (default): returns the existing task's handle while it is queued or running, or
 *   finished less than `ttlMs` ago.
 * - `replace`: enqueues this one; the existing one, if it has not started, is skipped (REVOKED).
 * - `debounce`: as `replace`, delayed by `ttlMs`: each call restarts the delay, the last input wins.
 * - `throttle`: at most one per `ttlMs`; calls within it get the first one's handle.
 */
export interface DedupeOptions {
  readonly key: string;
  /** `skip`: how long a finished task still counts; `debounce`: the delay; `throttle`: the window. */
  readonly ttlMs?: number;
  /** @default 'skip' */
  readonly mode?: DedupeMode;
}

/** `client.tasks`: the backend's index of recent tasks. */
export interface TaskFinder {
  /**
   * Recent tasks, newest first, by state, name, queue and time (`{ state: 'FAILURE', limit: 20 }`).
   * Needs a backend created with `taskIndex`; else fails with `UnsupportedError`.
   */
  list(query?: TaskListQuery): Promise<TaskSummary[]>;
}

function needFlowStore(backend: ResultBackend | undefined, feature: string): FlowStore {
  const flow = flowStoreOf(backend);
  if (!flow) throw new UnsupportedError(`result backend ${backend?.name ?? '(none)'}`, feature);
  return flow;
}

/** The header and extra options a deduplicated enqueue adds; checks the options first. */
function dedupeHeaderOf(task: string, d: DedupeOptions): DedupeHeader {
  const mode = d.mode ?? 'skip';
  const ttlMs = d.ttlMs ?? 0;
  if (!d.key) throw new ConfigError('dedupe.key must be a non-empty string');
  if (!['skip', 'replace', 'debounce', 'throttle'].includes(mode))
    throw new ConfigError(`dedupe.mode must be skip, replace, debounce or throttle, got ${String(mode)}`);
  if (!(Number.isFinite(ttlMs) && ttlMs >= 0)) throw new ConfigError('dedupe.ttlMs must be a number ≥ 0');
  if ((mode === 'debounce' || mode === 'throttle') && ttlMs <= 0)
    throw new ConfigError(`dedupe mode ${mode} needs ttlMs > 0`);
  return { key: dedupeStoreKey(task, d.key), mode, ttlMs };
}

/** What a deduplicated enqueue needs from the client. */
export interface DedupedEnqueue<O> {
  readonly backend: ResultBackend | undefined;
  readonly task: string;
  readonly dedupe: DedupeOptions;
  readonly options: O;
  /** Builds the message from the options with the dedupe header (and the debounce delay) added. */
  build(
    options: O & { readonly headers?: Readonly<Record<string, unknown>>; readonly delayMs?: number },
  ): TaskMessage;
  publish(message: TaskMessage): Promise<void>;
}

/**
 * Enqueues under a dedupe key: claims the key for the new task in the backend (atomic) and
 * publishes it only if it took the key. Resolves with the id the caller's handle follows: the new
 * task's, or the one that kept the key.
 */
export async function enqueueDeduped<O extends { readonly headers?: Readonly<Record<string, unknown>> }>(
  e: DedupedEnqueue<O>,
): Promise<string> {
  const store = needFlowStore(e.backend, 'dedupe');
  const header = dedupeHeaderOf(e.task, e.dedupe);
  const message = e.build({
    ...e.options,
    headers: { ...e.options.headers, [DEDUPE_HEADER]: header },
    ...(header.mode === 'debounce' ? { delayMs: header.ttlMs } : {}),
  });
  const id = message.headers.id;
  const holdMs =
    header.mode === 'throttle'
      ? header.ttlMs
      : DEDUPE_HOLD_MS + (header.mode === 'debounce' ? header.ttlMs : 0);
  const claim = await store.claimDedupe(header.key, id, header.mode, holdMs);
  if (!claim.created) return claim.id;
  try {
    await e.publish(message);
  } catch (error) {
    // Not published: free the key, or every later enqueue would follow a task that never runs.
    await store.finishDedupe(header.key, id, 0).catch(() => {});
    throw error;
  }
  return id;
}

/** Pauses a queue fleet-wide: every worker stops fetching from it within a second; running tasks finish. */
export function setQueuePaused(
  backend: ResultBackend | undefined,
  queue: string,
  paused: boolean,
): Promise<void> {
  try {
    if (!queue) throw new ConfigError('a queue name is required');
    return needFlowStore(backend, 'pausing queues').setQueuePaused(queue, paused);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The queues paused fleet-wide. */
export function pausedQueues(backend: ResultBackend | undefined): Promise<string[]> {
  try {
    return needFlowStore(backend, 'pausing queues').pausedQueues();
  } catch (error) {
    return Promise.reject(error);
  }
}

/** `client.tasks` over a backend. */
export function taskFinder(backend: ResultBackend | undefined): TaskFinder {
  return {
    async list(query = {}) {
      const index = taskIndexOf(backend);
      if (!index)
        throw new UnsupportedError(
          `result backend ${backend?.name ?? '(none)'}`,
          'listing tasks (it keeps no index of recent tasks)',
        );
      return index.listTasks(query);
    },
  };
}

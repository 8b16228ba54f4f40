/** Celery's key prefixes (`celery/backends/base.py`, `KeyValueStoreBackend`). */
const TASK_PREFIX = 'celery-task-meta-';
const GROUP_PREFIX = 'celery-taskset-meta-';

/** The Redis key names of one backend, with Celery's optional `global_keyprefix` applied. */
export interface KeySpace {
  /** `celery-task-meta-<id>`: the task meta, and the pub/sub channel a waiter listens on. */
  task(taskId: string): string;
  /** `celery-taskset-meta-<gid>.j` / `.s` / `.t`: the chord join set, size and size delta. */
  chord(groupId: string): { readonly join: string; readonly size: string; readonly delta: string };
}

/**
 * Builds the key space. A non-empty `globalKeyPrefix` gets a `_` appended unless it already ends in
 * one of `:_-.`, exactly as Celery's `result_backend_transport_options={'global_keyprefix': …}`.
 */
export function keySpace(globalKeyPrefix = ''): KeySpace {
  const prefix =
    globalKeyPrefix === '' || /[:_\-.]$/.test(globalKeyPrefix) ? globalKeyPrefix : `${globalKeyPrefix}_`;
  const task = `${prefix}${TASK_PREFIX}`;
  const group = `${prefix}${GROUP_PREFIX}`;
  return {
    task: (taskId) => `${task}${taskId}`,
    chord: (groupId) => ({
      join: `${group}${groupId}.j`,
      size: `${group}${groupId}.s`,
      delta: `${group}${groupId}.t`,
    }),
  };
}

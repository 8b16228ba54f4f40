import { type Broker, READY_STATES, type ResultBackend, TaskState } from '@celeriac/core';
import { hasRevokeStore } from '@celeriac/core/adapter';
import { deadLetterView } from './dead-letter-view.js';

/**
 * The control plane, when the dashboard has one: a `ControlClient` from `@celeriac/core/producer`
 * (or anything with its `revoke`) fits. It lets the Terminate button reach running tasks.
 */
export interface DashboardControl {
  revoke(taskId: string, options?: { readonly terminate?: boolean }): Promise<unknown>;
}

/** What a revoke did. */
export interface RevokeOutcome {
  /** REVOKED was stored (false when the task had already finished). */
  readonly stored: boolean;
  /** The control plane was asked too (to terminate, or to tell workers at once). */
  readonly broadcast: boolean;
}

/**
 * Revokes a task the way `handle.revoke()` does — added to the fleet's revoked set where the backend
 * keeps one, and REVOKED stored, which workers check before running a task — and, when a control
 * plane is there, broadcasts it so a running task can be terminated.
 */
export async function revokeTask(
  backend: ResultBackend,
  control: DashboardControl | undefined,
  taskId: string,
  terminate: boolean,
): Promise<RevokeOutcome> {
  // The fleet's revoked set first, as `handle.revoke()` does: workers holding it skip the task
  // without reading its state.
  if (hasRevokeStore(backend)) await backend.addRevoked([taskId]);
  const meta = await backend.get(taskId);
  let stored = false;
  if (!meta || !READY_STATES.has(meta.status)) {
    await backend.store({
      status: TaskState.REVOKED,
      result: { exc_type: 'TaskRevokedError', exc_message: ['revoked'], exc_module: 'celery.exceptions' },
      traceback: null,
      children: [],
      date_done: new Date().toISOString().replace('Z', '+00:00'),
      task_id: taskId,
    });
    stored = true;
  }
  if (control) await control.revoke(taskId, { terminate });
  return { stored, broadcast: control !== undefined };
}

/** Dead letters read to find the stored rejections a redrive clears. */
const REDRIVE_READ_LIMIT = 10_000;

/** What a redrive did. */
export interface RedriveOutcome {
  /** Messages put back on the queue. */
  readonly moved: number;
  /** Stored FAILUREs cleared so the messages run again. */
  readonly cleared: number;
}

/**
 * Puts a queue's dead letters back on it so they run again. A worker that dead-letters a message
 * also stores a FAILURE for it (so a waiting caller fails fast), and workers skip a task whose
 * result is final: the FAILUREs of the dead-lettered tasks are cleared first. A letter that
 * arrives between the read and the redrive is put back with its FAILURE, and skipped.
 */
export async function redriveQueue(
  broker: Pick<Broker, 'readDeadLetters' | 'redriveDeadLetters'>,
  backend: ResultBackend,
  queue: string,
): Promise<RedriveOutcome> {
  const letters = await broker.readDeadLetters(queue, REDRIVE_READ_LIMIT);
  const ids = [...new Set(letters.map((l) => deadLetterView(l).taskId).filter((id): id is string => !!id))];
  const metas = ids.length ? await backend.getMany(ids) : [];
  const failed = ids.filter((_, i) => metas[i]?.status === TaskState.FAILURE);
  await Promise.all(failed.map((id) => backend.forget(id)));
  return { moved: await broker.redriveDeadLetters(queue), cleared: failed.length };
}

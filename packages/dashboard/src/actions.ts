import { type Broker, READY_STATES, type ResultBackend, TaskState } from '@celeriac/core';
import { type FlowStore, hasRevokeStore } from '@celeriac/core/adapter';
import { type RedriveOutcome, redriveDeadLetters } from '@celeriac/core/producer';

export type { RedriveOutcome };

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

/**
 * Puts a queue's dead letters back on it so they run again, clearing the FAILUREs stored when they
 * were rejected (core's `redriveDeadLetters`, which the CLI's `dlq redrive` uses too).
 */
export function redriveQueue(
  broker: Pick<Broker, 'readDeadLetters' | 'redriveDeadLetters'>,
  backend: ResultBackend,
  queue: string,
): Promise<RedriveOutcome> {
  return redriveDeadLetters(broker, backend, queue);
}

/**
 * Pauses or resumes a queue fleet-wide through the backend's flow state, as `celeriac queue
 * pause|resume` does: workers stop fetching from it within a second; running tasks finish.
 */
export async function pauseQueue(
  flow: FlowStore,
  queue: string,
  paused: boolean,
): Promise<{ paused: boolean }> {
  await flow.setQueuePaused(queue, paused);
  return { paused };
}

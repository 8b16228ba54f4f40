/**
 * The runner's first steps: each looks at a delivery before its task runs and either lets it
 * through (`undefined`, with nothing allocated) or settles it and returns that work's promise.
 */
import type { MalformedDelivery, TaskDelivery } from '../../broker.js';
import { parseCeleryDate } from '../../message.js';
import { type ExceptionInfo, READY_STATES, type ResultMeta, TaskState } from '../../result-backend.js';
import { buildMeta } from '../../result-meta.js';
import { settleDownstream } from '../canvas-dead-ends.js';
import { rejectDelivery, storeState } from '../outcome-store.js';
import type { RunnerDeps } from '../runner-deps.js';

/**
 * An eta at most this far ahead counts as due: requeueing for a few ms would cost a broker round
 * trip and a redelivery to save less than that.
 */
const ETA_DUE_WITHIN_MS = 5;
const REVOKED: ExceptionInfo = {
  exc_type: 'TaskRevokedError',
  exc_message: ['revoked'],
  exc_module: 'celery.exceptions',
};
const EXPIRED: ExceptionInfo = {
  exc_type: 'TaskRevokedError',
  exc_message: ['expired'],
  exc_module: 'celery.exceptions',
};
/** How long a copy of a task waits while an abandoned attempt of it still runs on this worker. */
const ABANDONED_RETRY_MS = 1000;

/**
 * A delivery that did not decode: dead-lettered with the decoder's reason, and when its task id
 * could still be read, FAILURE stored under it so the caller fails fast. Not on a worker that
 * requires signed messages: an undecodable message cannot be verified, so its id is not trusted.
 */
export async function rejectMalformed(d: MalformedDelivery, deps: RunnerDeps): Promise<void> {
  const reason = { code: d.error.code, message: d.error.message };
  const taskId = deps.signing ? undefined : d.taskId;
  if (taskId && deps.backend) await deps.backend.store(buildMeta(TaskState.FAILURE, taskId, d.error));
  await d.deadLetter(reason);
  deps.events.emit('task-rejected', { uuid: taskId ?? null, name: null, reason });
}

/** A message delivered more than `maxDeliveries` times probably crashes its worker: dead-lettered. */
export function rejectPoison(d: TaskDelivery, deps: RunnerDeps): Promise<void> | undefined {
  if (d.deliveryCount <= deps.maxDeliveries) return undefined;
  return rejectDelivery(deps, d, 'DELIVERY_LIMIT', {
    exc_type: 'DeliveryLimitExceeded',
    exc_message: [
      `delivered ${d.deliveryCount} times (limit ${deps.maxDeliveries}); the task may crash its worker`,
    ],
    exc_module: 'celeriac.errors',
  });
}

/** A task name this worker does not implement: dead-lettered with Celery's `NotRegistered`. */
export function rejectUnregistered(d: TaskDelivery, deps: RunnerDeps): Promise<void> {
  const info: ExceptionInfo = {
    exc_type: 'NotRegistered',
    exc_message: [d.message.headers.task],
    exc_module: 'celery.exceptions',
  };
  return rejectDelivery(deps, d, 'TASK_NOT_REGISTERED', info);
}

/** In the worker's revoked set (a broadcast, a handle's revoke, the store): REVOKED, acknowledged, never run. */
export function skipRevoked(d: TaskDelivery, deps: RunnerDeps): Promise<void> | undefined {
  if (!deps.control?.isRevoked(d.message.headers.id, d.message.headers)) return undefined;
  return revokeRevoked(d, deps);
}

async function revokeRevoked(d: TaskDelivery, deps: RunnerDeps): Promise<void> {
  const { id, task: name } = d.message.headers;
  await storeState(deps, d.message, TaskState.REVOKED, REVOKED);
  await settleDownstream(d.message, TaskState.REVOKED, REVOKED, deps);
  await d.ack();
  deps.events.emit('task-revoked', { uuid: id, name, expired: false });
}

/**
 * Another attempt of the same task still runs here, abandoned at its hard limit: this copy (a
 * retry) comes back later, so one worker never runs two attempts of a task at once.
 */
export function waitForAbandoned(d: TaskDelivery, deps: RunnerDeps): Promise<void> | undefined {
  if (deps.abandoned.size === 0 || !deps.abandoned.has(d.message.headers.id)) return undefined;
  return d.requeue(deps.broker.capabilities.delay ? { delayMs: ABANDONED_RETRY_MS } : undefined);
}

/** Past its `expires`: stored REVOKED (expired) and acknowledged, never run. */
export function skipExpired(d: TaskDelivery, deps: RunnerDeps): Promise<void> | undefined {
  const expires = parseCeleryDate(d.message.headers.expires);
  if (!expires || expires.getTime() > Date.now()) return undefined;
  return revokeExpired(d, deps);
}

async function revokeExpired(d: TaskDelivery, deps: RunnerDeps): Promise<void> {
  const { id, task: name } = d.message.headers;
  await storeState(deps, d.message, TaskState.REVOKED, EXPIRED);
  await settleDownstream(d.message, TaskState.REVOKED, EXPIRED, deps);
  await d.ack();
  deps.events.emit('task-revoked', { uuid: id, name, expired: true });
}

/**
 * Before its `eta` (e.g. from a Python producer): back to the broker's delayed store, as nothing
 * waits in worker memory. A broker without delays runs it now.
 */
export function deferEarly(d: TaskDelivery, deps: RunnerDeps): Promise<void> | undefined {
  const eta = parseCeleryDate(d.message.headers.eta);
  if (!eta || eta.getTime() <= Date.now() + ETA_DUE_WITHIN_MS || !deps.broker.capabilities.delay)
    return undefined;
  return d.requeue({ delayMs: eta.getTime() - Date.now() });
}

/**
 * Revoked before it started, or a redelivery of a task that already finished: acknowledged and
 * not run again. `existing` is the task's stored meta.
 */
export function skipFinishedOrRevoked(
  d: TaskDelivery,
  existing: ResultMeta | null,
  deps: RunnerDeps,
): Promise<void> | undefined {
  if (!existing || !READY_STATES.has(existing.status)) return undefined;
  return skipFinished(d, existing, deps);
}

async function skipFinished(d: TaskDelivery, existing: ResultMeta, deps: RunnerDeps): Promise<void> {
  // Revoked through the backend before it ran: what waits on it is settled too.
  if (existing.status === TaskState.REVOKED)
    await settleDownstream(d.message, TaskState.REVOKED, REVOKED, deps);
  await d.ack();
  if (existing.status === TaskState.REVOKED)
    deps.events.emit('task-revoked', {
      uuid: d.message.headers.id,
      name: d.message.headers.task,
      expired: false,
    });
  // Acknowledged without running: said out loud, as a message reusing a finished id may be a mistake.
  else
    deps.events.emit('task-skipped', {
      uuid: d.message.headers.id,
      name: d.message.headers.task,
      reason: 'already-finished',
      state: existing.status,
    });
}

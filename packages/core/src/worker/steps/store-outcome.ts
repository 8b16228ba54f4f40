import type { TaskDelivery } from '../../broker.js';
import type { RetryPolicy } from '../../contract.js';
import { CeleriacError } from '../../errors.js';
import { settleFailed } from '../../flow/dead-letter-on-failure.js';
import type { TaskMessage } from '../../message.js';
import { type ExceptionInfo, TaskState } from '../../result-backend.js';
import { buildMeta } from '../../result-meta.js';
import { backoffDelay, RETRY_POLICY_HEADER } from '../../retry-policy.js';
import { validate } from '../../schema.js';
import { errbacksOf, failChain, onChordPart, publishPlan, successorsOf } from '../canvas-dispatch.js';
import type { TaskImplementation } from '../implement.js';
import { storeOptionsOf, storeState, storeThenAck } from '../outcome-store.js';
import type { RunnerDeps } from '../runner-deps.js';
import { clampRetryPolicy } from '../worker-limits.js';

/** The handler's value parsed by the output schema; a promise only for an async schema. */
export function validateOutput(impl: TaskImplementation, message: TaskMessage, value: unknown): unknown {
  return validate(impl.contract.output, value, message.headers.task, 'output');
}

/**
 * Publishes a successful task's callbacks and next chain step, before its SUCCESS is stored: their
 * ids are fixed, so a redelivery publishes the same ids and they dedupe. `undefined` when it has none.
 */
export function publishSuccessors(
  message: TaskMessage,
  value: unknown,
  deps: RunnerDeps,
): Promise<void> | undefined {
  const plan = successorsOf(message, value);
  return plan ? publishPlan(plan, deps) : undefined;
}

/** Counts a chord header member that finished; `undefined` when the task is not in a group. */
export function joinChord(
  message: TaskMessage,
  state: TaskState,
  value: unknown,
  deps: RunnerDeps,
): Promise<void> | undefined {
  if (!deps.backend || !message.headers.group) return undefined;
  return onChordPart(message, state, value, deps.publisher, deps.backend);
}

/**
 * Stores a SUCCESS and acks. A chord member counts its part between the two; any other task
 * stores and acks in one broker call where the broker can carry the backend's write.
 */
export async function storeSuccess(d: TaskDelivery, value: unknown, deps: RunnerDeps): Promise<void> {
  const { message } = d;
  if (!deps.backend || !message.headers.group)
    return storeThenAck(deps, d, message, TaskState.SUCCESS, value);
  await storeState(deps, message, TaskState.SUCCESS, value);
  const chord = joinChord(message, TaskState.SUCCESS, value, deps);
  if (chord) await chord;
  await d.ack();
}

function retryPolicyOf(
  message: TaskMessage,
  impl: TaskImplementation,
  deps: RunnerDeps,
): RetryPolicy | undefined {
  const trusted = impl.contract.defaults.retry ?? deps.defaultRetry;
  // The header comes off the wire: held to the worker's limits, never taken as it is.
  return clampRetryPolicy(message.headers[RETRY_POLICY_HEADER], deps.limits, trusted) ?? trusted;
}

// By code, not `instanceof`: these errors come from user code, which may carry its own copy of the
// error classes.
function isRetriable(error: unknown): boolean {
  if (!CeleriacError.is(error)) return true;
  if (CeleriacError.is(error, 'NON_RETRIABLE') || CeleriacError.is(error, 'VALIDATION_FAILED')) return false;
  return error.retriable;
}

/** The delay a `RetryAfterError` asks for, else the policy's backoff for this retry. */
function retryDelayOf(error: unknown, policy: RetryPolicy, retry: number): number {
  if (CeleriacError.is(error, 'RETRY_AFTER') && Number.isFinite(error.delayMs) && error.delayMs >= 0)
    return error.delayMs;
  return backoffDelay(policy, retry);
}

/**
 * Stores a failed run: a retry when the error allows it and the policy has retries left (Celery's
 * retry: a new message with the same id and `retries + 1`, delayed by the broker; the original is
 * acknowledged), else FAILURE, with errbacks published, remaining chain steps failed and the chord
 * part counted.
 */
export async function storeFailure(
  d: TaskDelivery,
  impl: TaskImplementation,
  error: unknown,
  runtimeMs: number,
  deps: RunnerDeps,
): Promise<void> {
  const { message } = d;
  const { id, task: name, retries } = message.headers;
  const policy = retryPolicyOf(message, impl, deps);
  if (policy && retries < policy.max && isRetriable(error)) {
    const delayMs = retryDelayOf(error, policy, retries + 1);
    const retry: TaskMessage = structuredClone(message);
    retry.headers.retries = retries + 1;
    retry.headers.eta =
      delayMs > 0 ? new Date(Date.now() + delayMs).toISOString().replace('Z', '+00:00') : null;
    await deps.publisher.publish({ queue: d.queue, message: retry, ...(delayMs > 0 ? { delayMs } : {}) });
    await storeState(deps, message, TaskState.RETRY, error);
    await d.ack();
    deps.events.emit('task-retried', { uuid: id, name, error, delayMs, retries: retries + 1 });
    return;
  }
  const errbacks = errbacksOf(message);
  if (errbacks.length) await deps.publisher.publishMany(errbacks);
  if (deps.backend) {
    const meta = buildMeta(TaskState.FAILURE, id, error, { message });
    if (!message.headers.ignore_result) await deps.backend.store(meta, storeOptionsOf(deps, message));
    await failChain(message, deps.backend, meta.result as ExceptionInfo, meta.traceback);
    await onChordPart(message, TaskState.FAILURE, meta.result, deps.publisher, deps.backend);
  }
  await settleFailed(d, impl, error, deps);
  deps.events.emit('task-failed', { uuid: id, name, error, runtimeMs });
}

import { carriedStoreOf } from '../adapter/carried-store.js';
import type { TaskDelivery } from '../broker.js';
import type { TaskMessage } from '../message.js';
import { type ExceptionInfo, type ResultBackend, type StoreOptions, TaskState } from '../result-backend.js';
import { buildMeta, toExceptionInfo } from '../result-meta.js';
import { resultStoreOptions } from '../result-ttl.js';
import { settleDownstream } from './canvas-dead-ends.js';
import { errbacksOf } from './canvas-dispatch.js';
import type { ProgressSink } from './handler-context.js';
import type { TaskImplementation } from './implement.js';
import type { RunnerDeps } from './runner-deps.js';

const STORED: Promise<void> = Promise.resolve();

/** Where outcomes are stored, and the contracts whose result TTL defaults apply. */
export interface StoreDeps {
  readonly backend: ResultBackend | undefined;
  readonly registry?: ReadonlyMap<string, TaskImplementation>;
}

/** How long this task's outcome is kept: the message's TTL header, else its contract's default. */
export function storeOptionsOf(deps: StoreDeps, message: TaskMessage): StoreOptions | undefined {
  return resultStoreOptions(message, deps.registry?.get(message.headers.task)?.contract.defaults.resultTtlMs);
}

/** Stores a state of the message's task; the meta is built only when there is somewhere to store it. */
export function storeState(
  deps: StoreDeps,
  message: TaskMessage,
  state: TaskState,
  value: unknown,
  status?: string,
): Promise<void> {
  if (!deps.backend || message.headers.ignore_result) return STORED;
  try {
    const meta = buildMeta(state, message.headers.id, value, { message });
    // The backend's promise as is: no async wrapper per stored outcome.
    return deps.backend.store(status ? { ...meta, status } : meta, storeOptionsOf(deps, message));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Stores a state of the message's task, then acks its delivery. When the broker can run the
 * backend's write inside its ack (both on one server, see `CarriedStore`), that is one call: the
 * result is still written before the ack, by the same script.
 */
export function storeThenAck(
  deps: StoreDeps,
  d: TaskDelivery,
  message: TaskMessage,
  state: TaskState,
  value: unknown,
): Promise<void> {
  const { backend } = deps;
  const carry = d.carries && !message.headers.ignore_result ? carriedStoreOf(backend) : undefined;
  if (!backend || !carry) return storeState(deps, message, state, value).then(() => d.ack());
  try {
    const meta = buildMeta(state, message.headers.id, value, { message });
    const options = storeOptionsOf(deps, message);
    const store = carry(meta, options);
    if (store && d.carries?.(store)) return d.ack({ store });
    return backend.store(meta, options).then(() => d.ack());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The {@link ProgressSink} of a worker: a custom state stored the way STARTED is. */
export function progressSink(deps: StoreDeps): ProgressSink {
  return (message, meta, state) => storeState(deps, message, TaskState.STARTED, meta, state);
}

/** Rejects a message for good: a FAILURE result (so waiters fail fast) and a dead letter with the reason. */
export async function rejectDelivery(
  deps: RunnerDeps,
  d: TaskDelivery,
  code: string,
  error: ExceptionInfo | Error,
): Promise<void> {
  const { id, task } = d.message.headers;
  const info = error instanceof Error ? toExceptionInfo(error) : error;
  if (deps.backend)
    await deps.backend.store(
      buildMeta(TaskState.FAILURE, id, info, { message: d.message }),
      storeOptionsOf(deps, d.message),
    );
  // Failed for good, as a failure in the handler: its errbacks are told (a workflow's driver among them).
  const errbacks = errbacksOf(d.message);
  if (errbacks.length) await deps.publisher.publishMany(errbacks);
  // Rejected for good: the chain steps, callbacks and chord waiting on it fail with the cause.
  await settleDownstream(d.message, TaskState.FAILURE, info, deps);
  const message = error instanceof Error ? error.message : `${info.exc_type}: ${String(info.exc_message)}`;
  await d.deadLetter({ code, message });
  deps.events.emit('task-rejected', { uuid: id, name: task, reason: { code, message } });
}

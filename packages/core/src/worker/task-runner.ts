import type { Broker, Delivery, TaskDelivery } from '../broker.js';
import type { RetryPolicy } from '../contract.js';
import { CeleriacError, NonRetriableError, RetryAfterError, ValidationError } from '../errors.js';
import { callToInput } from '../input-mapping.js';
import { parseCeleryDate, type TaskMessage } from '../message.js';
import {
  type ExceptionInfo,
  READY_STATES,
  type ResultBackend,
  type ResultMeta,
  TaskState,
} from '../result-backend.js';
import { buildMeta, toExceptionInfo } from '../result-meta.js';
import { backoffDelay, RETRY_POLICY_HEADER } from '../retry-policy.js';
import { validate } from '../schema.js';
import { errbacksOf, failChain, onChordPart, successorsOf } from './canvas-dispatch.js';
import { HandlerContext, type ProgressSink } from './handler-context.js';
import type { TaskImplementation } from './implement.js';
import { runWithLimits } from './run-with-limits.js';
import type { TaskEventMap, TypedEmitter } from './worker-events.js';

/** Everything the runner needs from its worker. */
export interface RunnerDeps {
  readonly broker: Broker;
  readonly backend: ResultBackend | undefined;
  readonly registry: ReadonlyMap<string, TaskImplementation>;
  readonly hostname: string;
  readonly trackStarted: boolean;
  readonly maxDeliveries: number;
  readonly defaultRetry: RetryPolicy | undefined;
  readonly events: TypedEmitter<TaskEventMap>;
  /** Aborted when shutdown's grace period is over: running handlers see their signal abort. */
  readonly shutdown: AbortSignal;
  readonly getMeta: (id: string) => Promise<ResultMeta | null>;
  /** Where handlers' `ctx.progress` goes: made once per worker by {@link progressSink}. */
  readonly progress: ProgressSink;
}

const notRegistered = (name: string): ExceptionInfo => ({
  exc_type: 'NotRegistered',
  exc_message: [name],
  exc_module: 'celery.exceptions',
});

const STORED: Promise<void> = Promise.resolve();

/** Stores a state of the message's task; the meta is built only when there is somewhere to store it. */
function store(
  deps: Pick<RunnerDeps, 'backend'>,
  message: TaskMessage,
  state: TaskState,
  value: unknown,
  status?: string,
): Promise<void> {
  if (!deps.backend || message.headers.ignore_result) return STORED;
  try {
    const meta = buildMeta(state, message.headers.id, value, { message });
    // The backend's promise as is: no async wrapper per stored outcome.
    return deps.backend.store(status ? { ...meta, status } : meta);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The {@link ProgressSink} of a worker: a custom state stored the way STARTED is. */
export function progressSink(deps: Pick<RunnerDeps, 'backend'>): ProgressSink {
  return (message, meta, state) => store(deps, message, TaskState.STARTED, meta, state);
}

/** Rejects a message for good: a FAILURE result (so waiters fail fast) and a dead letter with the reason. */
async function reject(
  deps: RunnerDeps,
  d: TaskDelivery,
  code: string,
  error: ExceptionInfo | Error,
): Promise<void> {
  const { id, task } = d.message.headers;
  const info = error instanceof Error ? toExceptionInfo(error) : error;
  if (deps.backend) await deps.backend.store(buildMeta(TaskState.FAILURE, id, info, { message: d.message }));
  const message = error instanceof Error ? error.message : `${info.exc_type}: ${String(info.exc_message)}`;
  await d.deadLetter({ code, message });
  deps.events.emit('task-rejected', { uuid: id, name: task, reason: { code, message } });
}

function retryPolicyOf(
  message: TaskMessage,
  impl: TaskImplementation,
  deps: RunnerDeps,
): RetryPolicy | undefined {
  const header = message.headers[RETRY_POLICY_HEADER];
  if (header && typeof header === 'object') return header as RetryPolicy;
  return impl.contract.defaults.retry ?? deps.defaultRetry;
}

function isRetriable(error: unknown): boolean {
  if (error instanceof NonRetriableError || error instanceof ValidationError) return false;
  return CeleriacError.is(error) ? error.retriable : true;
}

function seconds(v: number | null | undefined): number | undefined {
  return v == null ? undefined : v * 1000;
}

/**
 * Processes one delivery end to end. Outcomes are stored before the message is acknowledged, so a
 * crash re-runs a task rather than losing it. `handled` is called once the handler is done. Throws
 * only on transport/backend failure, in which case the caller requeues the delivery.
 */
export async function processDelivery(
  d: Delivery,
  deps: RunnerDeps,
  handled: () => void = () => {},
): Promise<void> {
  if (d.kind === 'malformed') {
    await d.deadLetter({ code: d.error.code, message: d.error.message });
    deps.events.emit('task-rejected', {
      uuid: null,
      name: null,
      reason: { code: d.error.code, message: d.error.message },
    });
    return;
  }
  const { message } = d;
  const { id, task: name } = message.headers;
  if (deps.events.has('task-received'))
    deps.events.emit('task-received', {
      uuid: id,
      name,
      queue: d.queue,
      retries: message.headers.retries,
      deliveryCount: d.deliveryCount,
      headers: message.headers,
    });

  if (d.deliveryCount > deps.maxDeliveries) {
    return reject(deps, d, 'DELIVERY_LIMIT', {
      exc_type: 'DeliveryLimitExceeded',
      exc_message: [
        `delivered ${d.deliveryCount} times (limit ${deps.maxDeliveries}); the task may crash its worker`,
      ],
      exc_module: 'celeriac.errors',
    });
  }
  const impl = deps.registry.get(name);
  if (!impl) return reject(deps, d, 'TASK_NOT_REGISTERED', notRegistered(name));

  const expires = parseCeleryDate(message.headers.expires);
  if (expires && expires.getTime() <= Date.now()) {
    await store(deps, message, TaskState.REVOKED, {
      exc_type: 'TaskRevokedError',
      exc_message: ['expired'],
      exc_module: 'celery.exceptions',
    });
    await d.ack();
    deps.events.emit('task-revoked', { uuid: id, name, expired: true });
    return;
  }
  const eta = parseCeleryDate(message.headers.eta);
  if (eta && eta.getTime() > Date.now() + 5 && deps.broker.capabilities.delay) {
    // Nothing waits in worker memory: an early message (e.g. from a Python producer) goes back to the broker's delayed store.
    await d.requeue({ delayMs: eta.getTime() - Date.now() });
    return;
  }
  const existing = deps.backend ? await deps.getMeta(id) : null;
  if (existing && READY_STATES.has(existing.status)) {
    // Revoked before it started, or a redelivery of a task that already finished: do not run it again.
    await d.ack();
    if (existing.status === TaskState.REVOKED)
      deps.events.emit('task-revoked', { uuid: id, name, expired: false });
    return;
  }

  let input: unknown;
  try {
    input = validate(
      impl.contract.input,
      callToInput(impl.contract, message.body[0], message.body[1]),
      name,
      'input',
    );
    // Await only an async schema: a sync one saves the worker a microtask per task.
    if (input instanceof Promise) input = await input;
  } catch (error) {
    if (error instanceof ValidationError) return reject(deps, d, error.code, error);
    throw error;
  }

  // STARTED is written while the handler runs (not before): it is informational, and awaiting it
  // would add a round trip to every task. The final store waits for it, so the order holds.
  const startedWrite = deps.trackStarted
    ? store(deps, message, TaskState.STARTED, { pid: process.pid, hostname: deps.hostname }).catch(
        (error: unknown) => deps.events.emit('worker-error', { error }),
      )
    : undefined;
  if (deps.events.has('task-started')) deps.events.emit('task-started', { uuid: id, name });
  const started = performance.now();
  const [hardS, softS] = message.headers.timelimit;
  const hardMs = seconds(hardS) ?? impl.contract.defaults.timeoutMs;
  const softMs = seconds(softS) ?? impl.contract.defaults.softTimeoutMs;
  const ran = runWithLimits(
    (signal) => impl.handler(input as never, new HandlerContext(message, d, signal, deps.progress)),
    { softMs, hardMs },
    deps.shutdown,
  );
  // A sync handler's outcome comes back as is: awaiting it would only cost a microtask.
  const outcome = ran instanceof Promise ? await ran : ran;
  const runtimeMs = performance.now() - started;
  handled();
  if (startedWrite) await startedWrite;

  if (outcome.kind === 'returned') {
    let result: unknown;
    try {
      result = validate(impl.contract.output, outcome.value, name, 'output');
      if (result instanceof Promise) result = await result;
    } catch (error) {
      return fail(deps, d, impl, error, runtimeMs);
    }
    // Successors first (their ids are fixed, so a redelivery publishes the same ids and they dedupe).
    const next = successorsOf(message, outcome.value);
    if (next.length) await deps.broker.publishMany(next);
    await store(deps, message, TaskState.SUCCESS, outcome.value);
    if (deps.backend && message.headers.group)
      await onChordPart(message, TaskState.SUCCESS, outcome.value, deps.broker, deps.backend);
    await d.ack();
    deps.events.emit('task-succeeded', { uuid: id, name, result, runtimeMs });
    return;
  }
  if (deps.shutdown.aborted) {
    // Interrupted by shutdown, not failed: put it back for another worker.
    await d.requeue();
    return;
  }
  return fail(deps, d, impl, outcome.error, runtimeMs);
}

async function fail(
  deps: RunnerDeps,
  d: TaskDelivery,
  impl: TaskImplementation,
  error: unknown,
  runtimeMs: number,
) {
  const { message } = d;
  const { id, task: name, retries } = message.headers;
  const policy = retryPolicyOf(message, impl, deps);
  if (isRetriable(error) && policy && retries < policy.max) {
    const delayMs = error instanceof RetryAfterError ? error.delayMs : backoffDelay(policy, retries + 1);
    // Celery's retry: a new message with the same id and retries + 1; the original is acknowledged.
    const retry: TaskMessage = structuredClone(message);
    retry.headers.retries = retries + 1;
    retry.headers.eta =
      delayMs > 0 ? new Date(Date.now() + delayMs).toISOString().replace('Z', '+00:00') : null;
    await deps.broker.publish({ queue: d.queue, message: retry, ...(delayMs > 0 ? { delayMs } : {}) });
    await store(deps, message, TaskState.RETRY, error);
    await d.ack();
    deps.events.emit('task-retried', { uuid: id, name, error, delayMs, retries: retries + 1 });
    return;
  }
  const errbacks = errbacksOf(message);
  if (errbacks.length) await deps.broker.publishMany(errbacks);
  if (deps.backend) {
    const meta = buildMeta(TaskState.FAILURE, id, error, { message });
    if (!message.headers.ignore_result) await deps.backend.store(meta);
    await failChain(message, deps.backend, meta.result as ExceptionInfo, meta.traceback);
    await onChordPart(message, TaskState.FAILURE, meta.result, deps.broker, deps.backend);
  }
  await d.ack();
  deps.events.emit('task-failed', { uuid: id, name, error, runtimeMs });
}

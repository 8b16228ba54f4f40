/**
 * Outcomes that can never be stored: a result JSON cannot carry (a circular object, a throwing
 * `toJSON`, a BigInt beyond 2^53), one over the worker's size limit, successors that cannot be built
 * from the message's canvas. Unlike a backend that is down, trying again cannot help, so the task
 * fails at once with `ResultNotStorableError` rather than being requeued and run again.
 */
import type { TaskDelivery } from '../broker.js';
import { CeleriacError, ResultNotStorableError } from '../errors.js';
import { encodeJson } from '../json-codec.js';
import type { TaskMessage } from '../message.js';
import { TaskState } from '../result-backend.js';
import { buildMeta, toExceptionInfo } from '../result-meta.js';
import { settleDownstream } from './canvas-dead-ends.js';
import type { RunnerDeps } from './runner-deps.js';

/** Whether an error is a deterministic failure to encode or store, never a transport one. */
export function isUnstorable(error: unknown): boolean {
  return CeleriacError.is(error, 'VALUE_UNENCODABLE') || CeleriacError.is(error, 'RESULT_NOT_STORABLE');
}

/** Whether the value will be encoded at all: stored, handed to successors or to a chord. */
function isKept(message: TaskMessage, deps: RunnerDeps): boolean {
  if (deps.backend && !message.headers.ignore_result) return true;
  const embed = message.body[2];
  return Boolean(embed?.callbacks?.length || embed?.chain?.length || message.headers.group);
}

/**
 * Why a successful task's value is over the worker's `limits.maxResultBytes` or cannot be encoded,
 * checked before any successor sees it; `undefined` when it is fine. Without that limit nothing is
 * checked here (a value that cannot be encoded fails at the store, through {@link failUnstorable}).
 * Plain values cost a type check; only an object (or a long string) is encoded, once more than the
 * backend will.
 */
export function unstorableResult(
  message: TaskMessage,
  value: unknown,
  deps: RunnerDeps,
): ResultNotStorableError | undefined {
  const limit = deps.limits.maxResultBytes;
  if (limit === undefined) return undefined;
  if (value === null || (typeof value !== 'object' && typeof value !== 'string' && typeof value !== 'bigint'))
    return undefined;
  if (!isKept(message, deps)) return undefined;
  const { task, id } = message.headers;
  // A string's JSON is at most 6 bytes per UTF-16 unit (`\u0000`): most strings need no encoding.
  if (typeof value === 'string' && value.length * 6 <= limit) return undefined;
  let text: string;
  try {
    text = encodeJson(value);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return new ResultNotStorableError(task, id, reason, { cause: error });
  }
  if (text === undefined || text.length <= limit / 3) return undefined;
  const bytes = Buffer.byteLength(text);
  if (bytes <= limit) return undefined;
  return new ResultNotStorableError(
    task,
    id,
    `its result is ${bytes} bytes of JSON, over the worker's limits.maxResultBytes (${limit})`,
  );
}

/**
 * Fails a task whose outcome could not be encoded on the way to the backend or the broker: its
 * FAILURE (naming the task and the cause) is stored, what waits on it downstream is settled, and the
 * message is acknowledged.
 */
export async function failUnstorable(d: TaskDelivery, error: unknown, deps: RunnerDeps): Promise<void> {
  const { message } = d;
  const { id, task: name } = message.headers;
  const failure = CeleriacError.is(error, 'RESULT_NOT_STORABLE')
    ? error
    : new ResultNotStorableError(name, id, error instanceof Error ? error.message : String(error), {
        cause: error,
      });
  const info = toExceptionInfo(failure);
  if (deps.backend && !message.headers.ignore_result)
    await deps.backend.store(buildMeta(TaskState.FAILURE, id, info, { message, traceback: failure.stack }));
  // The canvas itself may be what cannot be built: only a transport failure stops the ack.
  await settleDownstream(message, TaskState.FAILURE, info, deps).catch((e: unknown) => {
    if (CeleriacError.is(e) && !isUnstorable(e)) throw e;
  });
  await d.ack();
  deps.events.emit('task-failed', { uuid: id, name, error: failure, runtimeMs: 0 });
}

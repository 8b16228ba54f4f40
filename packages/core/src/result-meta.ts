import { boundTraceback, errorText, safeString } from './bounded-text.js';
import { CeleriacError } from './errors.js';
import type { TaskMessage } from './message.js';
import { type ExceptionInfo, type ResultMeta, TaskState } from './result-backend.js';

/** Python builtin exception names that a Python client can import as `builtins.<name>`. */
const PY_BUILTINS = new Set([
  'TypeError',
  'ValueError',
  'KeyError',
  'RuntimeError',
  'Exception',
  'TimeoutError',
]);

/** Celery exception names that exist in `celery.exceptions`. */
const CELERY_EXCEPTIONS = new Set([
  'TimeLimitExceeded',
  'TaskRevokedError',
  'NotRegistered',
  'SoftTimeLimitExceeded',
]);

/** Encodes a JS error in Celery's `{exc_type, exc_message, exc_module}` form. */
export function toExceptionInfo(error: unknown): ExceptionInfo {
  if (error instanceof Error) {
    const name = safeString(error.name) || 'Error';
    const excModule = PY_BUILTINS.has(name)
      ? 'builtins'
      : CELERY_EXCEPTIONS.has(name)
        ? 'celery.exceptions'
        : 'celeriac.errors';
    // Bounded: a handler may throw megabytes of message, and it is stored (and sent) more than once.
    const args: unknown[] = [errorText(error)];
    if (CeleriacError.is(error)) args.push({ code: error.code, retriable: error.retriable });
    return { exc_type: name, exc_message: args, exc_module: excModule };
  }
  return { exc_type: 'Exception', exc_message: [errorText(error)], exc_module: 'builtins' };
}

/** Reads an exception dict back; tolerant of what Python and older clients write. */
export function fromExceptionInfo(value: unknown): {
  excType: string;
  excMessage: string;
  excModule: string | null;
} {
  if (typeof value === 'object' && value !== null && 'exc_type' in value) {
    const info = value as Partial<ExceptionInfo>;
    const message = Array.isArray(info.exc_message)
      ? info.exc_message
          .filter((m) => typeof m !== 'object' || m === null)
          .map(String)
          .join(', ')
      : String(info.exc_message ?? '');
    return { excType: String(info.exc_type), excMessage: message, excModule: info.exc_module ?? null };
  }
  return {
    excType: 'Exception',
    excMessage: value == null ? 'unknown error' : JSON.stringify(value),
    excModule: null,
  };
}

let lastMs = Number.NaN;
let lastIso = '';

/** Now in Python's isoformat; formatted once per millisecond, as a busy worker stores many per ms. */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString().replace('Z', '+00:00');
  }
  return lastIso;
}

/** A traceback as stored: bounded text, or `null`. */
function tracebackOf(stack: unknown): string | null {
  return stack == null ? null : boundTraceback(safeString(stack));
}

/** Builds the meta for a state change, in Celery's shape. */
export function buildMeta(
  state: TaskState,
  taskId: string,
  value: unknown,
  options: { message?: TaskMessage; traceback?: string | null; children?: unknown[] } = {},
): ResultMeta {
  const ready = state === TaskState.SUCCESS || state === TaskState.FAILURE || state === TaskState.REVOKED;
  const isError = state === TaskState.FAILURE || state === TaskState.RETRY || state === TaskState.REVOKED;
  const meta: ResultMeta = {
    status: state,
    result:
      isError && !(typeof value === 'object' && value !== null && 'exc_type' in value)
        ? toExceptionInfo(value)
        : value,
    traceback: tracebackOf(options.traceback ?? (isError && value instanceof Error ? value.stack : null)),
    date_done: ready ? isoNow() : null,
    task_id: taskId,
    children: options.children ?? [],
  };
  // Written onto the one object (no spread of a second one): this runs for every stored state.
  const headers = options.message?.headers;
  if (headers?.group) meta.group_id = headers.group;
  if (headers?.parent_id) meta.parent_id = headers.parent_id;
  return meta;
}

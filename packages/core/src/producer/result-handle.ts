import { hasRevokeStore } from '../control/revoke-store.js';
import { ConfigError, RemoteTaskError } from '../errors.js';
import { READY_STATES, type ResultBackend, type ResultMeta, TaskState } from '../result-backend.js';
import { buildMeta, fromExceptionInfo } from '../result-meta.js';
import type { AnySchema } from '../schema.js';
import { validate } from '../schema.js';

/** Options for {@link TaskHandle.result}. */
export interface ResultOptions {
  /** Reject with `ResultTimeoutError` after this long. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** The status of a task as the backend knows it. */
export interface TaskStatus {
  readonly state: TaskState | (string & {});
  readonly meta: ResultMeta | null;
}

/** A typed handle on an enqueued task. */
export interface TaskHandle<TOutput> {
  readonly id: string;
  readonly name: string;
  /** The current state (PENDING when the backend has nothing yet). */
  status(): Promise<TaskStatus>;
  /** Waits for the task to finish; the value is validated against the contract's output schema. */
  result(options?: ResultOptions): Promise<TOutput>;
  /**
   * Marks the task REVOKED: a worker that has not started it yet skips it. A task already
   * running is not interrupted. No effect on a finished task.
   */
  revoke(): Promise<void>;
  /**
   * Cancels the task and, on a chain or chord handle, every step or member not finished yet: they
   * are revoked fleet-wide (REVOKED stored, added to the backend's revoked set), and when the client
   * has a control transport, attempts already running are aborted (Celery's `terminate`).
   */
  cancel(): Promise<void>;
}

/** What a handle can reach besides the backend: the members it stands for, and remote control. */
export interface HandleLinks {
  /** Other task ids the handle covers (the steps of a chain, the header and body of a chord). */
  readonly members?: readonly string[];
  /** Broadcasts revokes with `terminate`; `undefined` when the client has no control transport. */
  readonly revoke?: (ids: readonly string[]) => Promise<unknown>;
}

const CANCELLED = { exc_type: 'TaskRevokedError', exc_message: ['revoked'], exc_module: 'celery.exceptions' };

/** Revokes ids: into the revoked set, REVOKED for those not finished, and terminated where running. */
export async function cancelTasks(
  ids: readonly string[],
  backend: ResultBackend | undefined,
  links: HandleLinks,
): Promise<void> {
  if (!backend && !links.revoke)
    throw new ConfigError('cancel needs a result backend or a control transport; pass one to createClient');
  if (backend) {
    if (hasRevokeStore(backend)) await backend.addRevoked(ids);
    const metas = await backend.getMany(ids);
    await Promise.all(
      ids.map((id, i) => {
        const status = metas[i]?.status;
        return status !== undefined && READY_STATES.has(status)
          ? undefined
          : backend.store(buildMeta(TaskState.REVOKED, id, CANCELLED));
      }),
    );
  }
  await links.revoke?.(ids);
}

function requireBackend(backend: ResultBackend | undefined): ResultBackend {
  if (!backend) throw new ConfigError('this client has no result backend; pass `backend` to createClient');
  return backend;
}

/** Turns a finished meta into the typed value, or throws {@link RemoteTaskError}. */
export async function settle<TOutput>(
  meta: ResultMeta,
  name: string,
  output: AnySchema | undefined,
): Promise<TOutput> {
  if (meta.status === TaskState.SUCCESS) {
    return (output ? await validate(output, meta.result, name, 'output') : meta.result) as TOutput;
  }
  throw new RemoteTaskError(meta.task_id, {
    ...fromExceptionInfo(meta.result),
    traceback: meta.traceback,
    state: meta.status,
  });
}

/** @internal */
export function createHandle<TOutput>(
  id: string,
  name: string,
  backend: ResultBackend | undefined,
  output: AnySchema | undefined,
  links: HandleLinks = {},
): TaskHandle<TOutput> {
  return {
    id,
    name,
    async status() {
      const meta = await requireBackend(backend).get(id);
      return { state: meta?.status ?? TaskState.PENDING, meta };
    },
    async result(options = {}) {
      const meta = await requireBackend(backend).wait(id, options);
      return settle<TOutput>(meta, name, output);
    },
    async revoke() {
      const b = requireBackend(backend);
      // The fleet's revoked set first: workers that hold it skip the task without reading its state.
      if (hasRevokeStore(b)) await b.addRevoked([id]);
      const meta = await b.get(id);
      if (meta && READY_STATES.has(meta.status)) return;
      await b.store(
        buildMeta(TaskState.REVOKED, id, {
          exc_type: 'TaskRevokedError',
          exc_message: ['revoked'],
          exc_module: 'celery.exceptions',
        }),
      );
    },
    cancel() {
      return cancelTasks([...new Set([id, ...(links.members ?? [])])], backend, links);
    },
  };
}

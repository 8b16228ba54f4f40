import type { TaskDelivery } from '../../broker.js';
import { TaskState } from '../../result-backend.js';
import { HandlerContext } from '../handler-context.js';
import type { TaskImplementation } from '../implement.js';
import { storeState } from '../outcome-store.js';
import { type RunOutcome, runWithLimits } from '../run-with-limits.js';
import type { RunnerDeps } from '../runner-deps.js';
import type { ThreadPool } from '../thread/thread-pool.js';

/** A Celery time limit (seconds, on the wire) in milliseconds; `undefined` when unset. */
function secondsToMs(seconds: number | null | undefined): number | undefined {
  return seconds == null ? undefined : seconds * 1000;
}

/**
 * Marks the task started: the `task-started` event and, when tracked, STARTED in the backend. The
 * write goes on while the handler runs (it is informational, and awaiting it would add a round trip
 * to every task); the caller awaits the returned promise before storing the outcome, so the order
 * holds. `undefined` when STARTED is not tracked.
 */
export function markStarted(d: TaskDelivery, deps: RunnerDeps): Promise<unknown> | undefined {
  const { message } = d;
  const write = deps.trackStarted
    ? storeState(deps, message, TaskState.STARTED, { pid: process.pid, hostname: deps.hostname }).catch(
        (error: unknown) => deps.events.emit('worker-error', { error }),
      )
    : undefined;
  if (deps.events.has('task-started'))
    deps.events.emit('task-started', { uuid: message.headers.id, name: message.headers.task });
  return write;
}

/** The implementation as the worker calls it: its handler is the call into a pool thread. */
function inThread(impl: TaskImplementation, threads: ThreadPool, kill: AbortSignal): TaskImplementation {
  return { ...impl, handler: (input, ctx) => threads.run(impl, input, ctx, kill) };
}

/**
 * Runs the handler, through the worker's interceptors if it has any, under the message's time
 * limits (else the contract's). A sync handler's outcome comes back as is, not as a promise.
 */
export function runHandler(
  impl: TaskImplementation,
  input: unknown,
  d: TaskDelivery,
  deps: RunnerDeps,
): RunOutcome | Promise<RunOutcome> {
  const { message } = d;
  const [hardSeconds, softSeconds] = message.headers.timelimit;
  const { defaults } = impl.contract;
  const execute = deps.execute;
  const control = deps.control;
  // The message's limits first, then those `time_limit` set on this worker, then the contract's.
  const own = control?.limitsFor(message.headers.task);
  const threads = impl.isolation === 'thread' ? deps.threads : undefined;
  return runWithLimits(
    (signal, kill) => {
      const ctx = new HandlerContext(message, d, signal, deps.progress);
      // In a thread: interceptors still run here, around the call; the handler runs there.
      const target = threads ? inThread(impl, threads, kill()) : impl;
      return execute ? execute(target, input, ctx) : target.handler(input as never, ctx);
    },
    {
      softMs: secondsToMs(softSeconds) ?? own?.softMs ?? defaults.softTimeoutMs,
      hardMs: secondsToMs(hardSeconds) ?? own?.hardMs ?? defaults.timeoutMs,
    },
    deps.shutdown,
    control ? (abort) => control.started(d, abort) : undefined,
  );
}

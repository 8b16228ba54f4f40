import type { OutgoingMessage } from '../broker.js';
import type { PublishNext } from '../producer/client-interceptor.js';
import type { TaskContext, TaskImplementation } from './implement.js';

/** Calls the next interceptor, or the handler after the last one, with the (maybe changed) input. */
export type ExecuteNext = (input: unknown) => unknown;

/**
 * Wraps a worker's work without touching its runner: tracing, log context, rate limits, metrics.
 *
 * `execute` wraps every handler call. Interceptors run in list order, the first one outermost; each
 * gets the parsed input and the handler's `ctx` (task name, id, headers, attempt, delivery count,
 * signal…), calls `next` with the input (changed or not) and returns what it returns, or something
 * else. The input was validated before the first interceptor; what the last one returns is
 * validated against the output schema. A failure or a retry request (`RetryAfterError`,
 * `NonRetriableError`…) reaches interceptors as a thrown error (a rejection for async handlers),
 * and what an interceptor throws is handled the same way. Interceptors run within the task's time
 * limits, and `ctx.signal` aborts for them as for the handler. `next` returns what the handler
 * returns: a value for a sync handler, a promise for an async one.
 *
 * `publish` wraps what the worker publishes on a task's behalf: retries, callbacks and errbacks,
 * the next step of a chain and a chord's body (see `ClientInterceptor` for the client's side).
 *
 * @example
 * ```ts
 * const timing: WorkerInterceptor = {
 *   async execute(input, ctx, next) {
 *     const started = performance.now();
 *     try {
 *       return await next(input);
 *     } finally {
 *       histogram.observe({ task: ctx.name }, performance.now() - started);
 *     }
 *   },
 * };
 * const worker = createWorker({ broker, backend, tasks, interceptors: [timing] });
 * ```
 */
export interface WorkerInterceptor {
  execute?(input: unknown, ctx: TaskContext, next: ExecuteNext): unknown;
  publish?(message: OutgoingMessage, next: PublishNext): Promise<void>;
}

/** A handler call through every `execute` interceptor. */
export type ExecuteChain = (impl: TaskImplementation, input: unknown, ctx: TaskContext) => unknown;

type ExecuteHook = Required<Pick<WorkerInterceptor, 'execute'>>;

/**
 * Composes the interceptors' `execute` hooks once per worker; `undefined` when there are none, so
 * the runner calls handlers directly.
 */
export function composeExecute(
  interceptors: readonly WorkerInterceptor[] | undefined,
): ExecuteChain | undefined {
  const hooks = (interceptors ?? []).filter((i): i is ExecuteHook => typeof i.execute === 'function');
  if (hooks.length === 0) return undefined;
  const at = (index: number, impl: TaskImplementation, input: unknown, ctx: TaskContext): unknown => {
    const hook = hooks[index];
    if (!hook) return impl.handler(input as never, ctx);
    return hook.execute(input, ctx, (next) => at(index + 1, impl, next, ctx));
  };
  return (impl, input, ctx) => at(0, impl, input, ctx);
}

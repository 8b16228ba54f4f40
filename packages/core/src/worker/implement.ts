import type { AnyTaskContract, InferTaskParsedInput, InferTaskReturn } from '../contract.js';
import { ConfigError } from '../errors.js';
import type { TaskHeaders } from '../message.js';

/** What a handler gets besides its input. */
export interface TaskContext {
  readonly id: string;
  readonly name: string;
  /** 1 on the first run; grows with every retry. */
  readonly attempt: number;
  /** How often the broker delivered this message (crash recovery raises it without a retry). */
  readonly deliveryCount: number;
  readonly queue: string;
  readonly rootId: string;
  readonly parentId: string | null;
  readonly headers: Readonly<TaskHeaders>;
  /** Aborted at the soft time limit, on hard time limit, and when the worker shuts down past its grace. */
  readonly signal: AbortSignal;
  /** Records a custom progress state (e.g. `PROGRESS`) with metadata, visible through `handle.status()`. */
  progress(meta: unknown, state?: string): Promise<void>;
}

/** A task handler: parsed input in, a value matching the output schema out. */
export type TaskHandler<T extends AnyTaskContract> = (
  input: InferTaskParsedInput<T>,
  ctx: TaskContext,
) => InferTaskReturn<T> | Promise<InferTaskReturn<T>>;

/**
 * Where a task's handler runs. `'in-process'` (the default): on the worker's event loop, with the
 * other tasks. `'thread'`: in a pool of worker threads, so a CPU-bound handler neither blocks the
 * worker (heartbeats, remote control, other tasks keep going) nor outlives its hard time limit,
 * which terminates the thread.
 */
export type TaskIsolation = 'in-process' | 'thread';

/** Options of {@link implement}. */
export interface ImplementOptions {
  /**
   * `'thread'` runs the handler in a worker thread. The thread imports `module` and finds this
   * task there among its exports (an implementation, or an array or object of them, exported by
   * any name), so the handler and the module's state live in the thread. The input and the result
   * cross by structured clone; `ctx` crosses as data (id, name, attempt, headers…), `ctx.signal`
   * aborts in the thread at the soft limit, and `ctx.progress` is relayed to the worker.
   * @default 'in-process'
   */
  readonly isolation?: TaskIsolation;
  /** The module that exports this implementation (`import.meta.url`); required with `isolation: 'thread'`. */
  readonly module?: string;
}

/** A contract bound to its handler, ready to register with a worker. */
export interface TaskImplementation<T extends AnyTaskContract = AnyTaskContract> {
  readonly contract: T;
  // Method syntax on purpose: a list of implementations of different contracts stays assignable.
  handler(input: InferTaskParsedInput<T>, ctx: TaskContext): InferTaskReturn<T> | Promise<InferTaskReturn<T>>;
  /** Where the handler runs. @default 'in-process' */
  readonly isolation?: TaskIsolation;
  /** The module a worker thread imports to find this implementation (with `isolation: 'thread'`). */
  readonly module?: string;
}

/**
 * Binds a handler to a contract. The handler's input and return types come from the contract.
 *
 * @example
 * ```ts
 * const addImpl = implement(add, async ({ x, y }) => x + y);
 * // CPU-bound: in a worker thread, which the hard time limit terminates.
 * const hashImpl = implement(hash, (input) => digest(input), { isolation: 'thread', module: import.meta.url });
 * ```
 */
export function implement<T extends AnyTaskContract>(
  contract: T,
  handler: TaskHandler<T>,
  options: ImplementOptions = {},
): TaskImplementation<T> {
  const isolation = options.isolation ?? 'in-process';
  if (isolation === 'in-process') return { contract, handler };
  if (isolation !== 'thread')
    throw new ConfigError(
      `${contract.name}: isolation must be 'in-process' or 'thread', got ${String(isolation)}`,
    );
  if (typeof options.module !== 'string' || options.module === '')
    throw new ConfigError(
      `${contract.name}: isolation 'thread' needs module (the implementing module's import.meta.url)`,
    );
  return { contract, handler, isolation, module: options.module };
}

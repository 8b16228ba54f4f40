import type { AnyTaskContract, InferTaskParsedInput, InferTaskReturn } from '../contract.js';
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

/** A contract bound to its handler, ready to register with a worker. */
export interface TaskImplementation<T extends AnyTaskContract = AnyTaskContract> {
  readonly contract: T;
  // Method syntax on purpose: a list of implementations of different contracts stays assignable.
  handler(input: InferTaskParsedInput<T>, ctx: TaskContext): InferTaskReturn<T> | Promise<InferTaskReturn<T>>;
}

/**
 * Binds a handler to a contract. The handler's input and return types come from the contract.
 *
 * @example
 * ```ts
 * const addImpl = implement(add, async ({ x, y }) => x + y);
 * ```
 */
export function implement<T extends AnyTaskContract>(
  contract: T,
  handler: TaskHandler<T>,
): TaskImplementation<T> {
  return { contract, handler };
}

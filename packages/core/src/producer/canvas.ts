import { randomUUID } from 'node:crypto';
import type { AnyTaskContract, InferTaskInput, InferTaskOutput } from '../contract.js';
import { inputToCall } from '../input-mapping.js';
import type { Signature } from '../message.js';

/** A Celery signature that remembers the contract it was made from, for typed results. */
export interface TypedSignature<T extends AnyTaskContract> extends Signature {
  /** @internal phantom type carrier */
  readonly __contract?: T;
}

/** Options of a signature (a subset of Celery's signature options). */
export interface SignatureOptions {
  readonly queue?: string;
  readonly priority?: number;
  /** Do not prepend the parent's result to this step's args (Celery `.si()`). */
  readonly immutable?: boolean;
  readonly taskId?: string;
}

/**
 * Makes a Celery signature for a task: a call to be made later (a chain step or a callback).
 * The input is partial when the step receives its parent's result as the first argument.
 */
export function signature<T extends AnyTaskContract>(
  contract: T,
  input?: Partial<InferTaskInput<T>> | InferTaskInput<T>,
  options: SignatureOptions = {},
): TypedSignature<T> {
  // No input: the step takes only what its parent passes (a chain's previous result, a chord's list).
  const { args, kwargs } = input === undefined ? { args: [], kwargs: {} } : inputToCall(contract, input);
  return {
    task: contract.name,
    args,
    kwargs,
    options: {
      task_id: options.taskId ?? randomUUID(),
      ...((options.queue ?? contract.defaults.queue)
        ? { queue: options.queue ?? contract.defaults.queue }
        : {}),
      ...(options.priority !== undefined ? { priority: options.priority } : {}),
    },
    subtask_type: null,
    immutable: options.immutable ?? false,
  };
}

/** The output type of the last signature of a chain. */
export type ChainOutput<TSteps extends readonly Signature[]> = TSteps extends readonly [
  ...Signature[],
  TypedSignature<infer TLast>,
]
  ? InferTaskOutput<TLast>
  : unknown;

/** The output type of one signature. */
export type SignatureOutput<TSig> = TSig extends TypedSignature<infer T> ? InferTaskOutput<T> : unknown;

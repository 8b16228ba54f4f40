import { randomUUID } from 'node:crypto';
import type { AnyTaskContract, InferTaskInput, InferTaskOutput, InferTaskReturn } from '../contract.js';
import { inputToCall } from '../input-mapping.js';
import type { Signature } from '../message.js';
import type { AnySchema } from '../schema.js';

/**
 * A Celery signature that remembers the contract it was made from (for typed results) and what it
 * accepts from its parent (for typed chains).
 */
export interface TypedSignature<T extends AnyTaskContract, TAccepts = unknown> extends Signature {
  /** @internal phantom type carrier */
  readonly __contract?: T;
  /**
   * @internal phantom type carrier. Method syntax on purpose (bivariant): a signature stays
   * assignable to `TypedSignature<T>` whatever it accepts; chains check acceptance explicitly.
   */
  __accepts?(value: TAccepts): void;
}

/** Options of a signature (a subset of Celery's signature options). */
export interface SignatureOptions {
  readonly queue?: string;
  readonly priority?: number;
  /** Do not prepend the parent's result to this step's args (Celery `.si()`). */
  readonly immutable?: boolean;
  readonly taskId?: string;
}

type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
/** `U` when it is a single type, `never` for a union of several (or for `never`). */
type Single<U, All = U> = [U] extends [never]
  ? never
  : U extends unknown
    ? [All] extends [U]
      ? U
      : never
    : never;
type IsObjectInput<I> = I extends readonly unknown[]
  ? false
  : I extends Record<string, unknown>
    ? true
    : false;

/**
 * What a step accepts as its parent's result, which Celery prepends to its args. A non-object input
 * takes it whole. An object input takes it in its one missing required key (positional args fill the
 * schema's keys in order: leave the first key out); with every required key given the parent's
 * result is not needed, so anything goes; with two or more missing no single value can fill them.
 * An immutable step ignores it.
 */
export type SignatureAccepts<TInput, TGiven, TImmutable> = [TImmutable] extends [true]
  ? unknown
  : IsObjectInput<TInput> extends true
    ? [Exclude<RequiredKeys<TInput>, keyof TGiven>] extends [never]
      ? unknown
      : Single<Exclude<RequiredKeys<TInput>, keyof TGiven>> extends infer K extends keyof TInput
        ? [K] extends [never]
          ? never
          : TInput[K]
        : never
    : TInput;

// The contract behind each signature made here, for validating canvas results at runtime. A WeakMap,
// not a property: signatures travel as JSON, and a schema has no place on the wire.
const contracts = new WeakMap<object, AnyTaskContract>();

/** The contract a signature was made from with {@link signature}; `undefined` for a plain one. */
export function contractOf(sig: Signature): AnyTaskContract | undefined {
  return contracts.get(sig);
}

/**
 * Makes a Celery signature for a task: a call to be made later (a chain step or a callback).
 * The input is partial when the step receives its parent's result as the first argument.
 *
 * @example
 * ```ts
 * // add: { x: number; y: number } → number. In a chain, the previous result fills `x`.
 * const step = signature(add, { y: 10 });
 * ```
 */
export function signature<
  T extends AnyTaskContract,
  const TGiven extends Partial<InferTaskInput<T>> | InferTaskInput<T> | undefined = undefined,
  const TOptions extends SignatureOptions = SignatureOptions,
>(
  contract: T,
  input?: TGiven,
  options?: TOptions,
): TypedSignature<T, SignatureAccepts<InferTaskInput<T>, TGiven, TOptions['immutable']>> {
  const o: SignatureOptions = options ?? {};
  // No input: the step takes only what its parent passes (a chain's previous result, a chord's list).
  const { args, kwargs } = input === undefined ? { args: [], kwargs: {} } : inputToCall(contract, input);
  const sig: Signature = {
    task: contract.name,
    args,
    kwargs,
    options: {
      task_id: o.taskId ?? randomUUID(),
      ...((o.queue ?? contract.defaults.queue) ? { queue: o.queue ?? contract.defaults.queue } : {}),
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
    },
    subtask_type: null,
    immutable: o.immutable ?? false,
  };
  contracts.set(sig, contract);
  return sig;
}

/**
 * A canvas signature (a chain, group or chord made with `chainSignature`, `groupSignature`,
 * `chordSignature`) that remembers the type of its result and what it accepts from a parent.
 */
export interface CanvasSignature<TOutput, TAccepts = unknown> extends Signature {
  /** @internal phantom type carrier */
  __output?(): TOutput;
  /** @internal phantom type carrier (see {@link TypedSignature}) */
  __accepts?(value: TAccepts): void;
}

/** The value a step's handler returns, as it travels to the next step (before output parsing). */
type StepReturn<S> = S extends { __output?(): infer O }
  ? O
  : S extends TypedSignature<infer T, unknown>
    ? InferTaskReturn<T>
    : unknown;
type StepAccepts<S> = S extends { __accepts?(value: infer A): void } ? A : unknown;

/** What a mismatched chain step is replaced with in the expected type, so the error says why. */
export interface ChainStepMismatch<TPrevious, TAccepts> {
  readonly 'this step does not accept the previous step\u2019s output': {
    readonly previous: TPrevious;
    readonly accepts: TAccepts;
  };
}

/**
 * The steps of a chain, each replaced by {@link ChainStepMismatch} where it cannot take the previous
 * step's output. A step made without a contract (a task by name) is not checked, nor is one after it.
 */
export type CheckedChain<TSteps extends readonly unknown[], TPrev = never> = TSteps extends readonly [
  infer H,
  ...infer R,
]
  ? [
      [TPrev] extends [never]
        ? H
        : unknown extends StepReturn<TPrev>
          ? H
          : [StepReturn<TPrev>] extends [StepAccepts<H>]
            ? H
            : ChainStepMismatch<StepReturn<TPrev>, StepAccepts<H>>,
      ...CheckedChain<R, H>,
    ]
  : [];

/** The output type of the last signature of a chain. */
export type ChainOutput<TSteps extends readonly Signature[]> = TSteps extends readonly [
  ...Signature[],
  infer TLast,
]
  ? SignatureOutput<TLast>
  : unknown;

/** The output type of one signature (a task's contract output, or a canvas's result). */
export type SignatureOutput<TSig> = TSig extends { __output?(): infer O }
  ? O
  : TSig extends TypedSignature<infer T, unknown>
    ? InferTaskOutput<T>
    : unknown;

/** What a signature accepts from its parent (for a canvas, what its first task accepts). */
export type SignatureAcceptsOf<TSig> = TSig extends { __accepts?(value: infer A): void } ? A : unknown;

// The result schema of canvases made here, when their last task's contract is known.
const outputs = new WeakMap<object, AnySchema>();

/** The schema a signature's result is validated with: its contract's output, or its canvas's. */
export function outputSchemaOf(sig: Signature): AnySchema | undefined {
  return contractOf(sig)?.output ?? outputs.get(sig);
}

function canvas(
  task: string,
  kind: string,
  kwargs: Record<string, unknown>,
  options: Record<string, unknown>,
): Signature {
  return { task, args: [], kwargs, options, subtask_type: kind, immutable: false };
}

/**
 * Celery's `chain(...)` as a signature, to nest in another canvas (a group member, a chord's
 * header or body, a chain step). Typed as `client.chain` is: each step must take the previous
 * step's output; its result is the last step's.
 */
export function chainSignature<const TSteps extends readonly [Signature, ...Signature[]]>(
  steps: TSteps & CheckedChain<TSteps>,
): CanvasSignature<ChainOutput<TSteps>, SignatureAcceptsOf<TSteps[0]>> {
  const sig = canvas('celery.chain', 'chain', { tasks: [...steps] }, {});
  const out = outputSchemaOf(steps[steps.length - 1] as Signature);
  if (out) outputs.set(sig, out);
  return sig;
}

/** Celery's `group(...)` as a signature: its result is the list of its members' results. */
export function groupSignature<const TMembers extends readonly Signature[]>(
  members: TMembers,
): CanvasSignature<{ -readonly [K in keyof TMembers]: SignatureOutput<TMembers[K]> }> {
  return canvas('celery.group', 'group', { tasks: [...members] }, { task_id: randomUUID() });
}

/**
 * Celery's `chord(header, body)` as a signature: the body runs once with the list of the header's
 * results, and its result is the chord's.
 */
export function chordSignature<TBody extends Signature>(
  header: readonly Signature[],
  body: TBody,
): CanvasSignature<SignatureOutput<TBody>> {
  const sig = canvas('celery.chord', 'chord', { kwargs: {}, header: [...header], body }, {});
  const out = outputSchemaOf(body);
  if (out) outputs.set(sig, out);
  return sig;
}

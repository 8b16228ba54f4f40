import { ConfigError } from './errors.js';
import { parseRateLimit, type RateLimit } from './flow/rate-limit.js';
import { type AnySchema, objectKeysOf, type SchemaInput, type SchemaOutput } from './schema.js';

/** Retry policy: exponential backoff with jitter, capped. */
export interface RetryPolicy {
  /** Retries after the first attempt (0 = never retry). */
  readonly max: number;
  /** Delay before the first retry. @default 1000 */
  readonly initialDelayMs?: number;
  /** Multiplier applied per retry. @default 2 */
  readonly factor?: number;
  /** Upper bound for one delay. @default 600_000 (as Celery's `retry_backoff_max`) */
  readonly maxDelayMs?: number;
  /** Full jitter (random in [0, delay]) when true, as Celery's `retry_jitter`. @default true */
  readonly jitter?: boolean;
}

/** A rate limit per key of the input (e.g. per tenant): each key has a bucket of its own. */
export interface RateLimitByKey<TInput = unknown> {
  readonly limit: RateLimit;
  /** The bucket of a task, from its parsed input. */
  key(input: TInput): string;
}

/**
 * At most `max` tasks of a contract run at once across the fleet, per key of the input (or for the
 * whole task without `key`). Held as leases in the result backend that expire, so a worker that
 * dies never keeps a slot longer than `leaseMs`; running tasks renew theirs.
 */
export interface ConcurrencyLimit<TInput = unknown> {
  readonly max: number;
  /** The slot group of a task, from its parsed input. @default one group per task name */
  key?(input: TInput): string;
  /** How long a slot outlives a worker that stopped renewing it. @default 30_000 */
  readonly leaseMs?: number;
}

/** Per-task defaults; every field but the flow-control ones can be overridden per call. */
export interface TaskDefaults<TInput = unknown> {
  /** Queue the task is routed to. @default 'celery' */
  readonly queue?: string;
  readonly retry?: RetryPolicy;
  /** Hard time limit: the handler is abandoned and `TimeLimitExceeded` recorded. */
  readonly timeoutMs?: number;
  /** Soft time limit: the handler's `AbortSignal` fires, the handler may clean up. */
  readonly softTimeoutMs?: number;
  /** 0 (lowest) to 9 (most urgent). */
  readonly priority?: number;
  /** Drop (record REVOKED) if not started within this many ms of enqueue. */
  readonly expiresMs?: number;
  /** Do not store a result (Celery's `ignore_result`). */
  readonly ignoreResult?: boolean;
  /** How long the result is kept, in ms; 0 keeps it until forgotten. @default the backend's TTL (1 day) */
  readonly resultTtlMs?: number;
  /**
   * Starts allowed across every worker of the fleet (Celery's form: `'100/s'`, `'10/m'`, `'5/h'`),
   * or per key of the input with `{ limit, key }`. Held in the result backend; a task over it waits
   * in the broker's delayed store, not in a worker. Changeable at runtime with `rate_limit`.
   */
  readonly rateLimit?: RateLimit | RateLimitByKey<TInput>;
  /**
   * A task that fails for good (retries exhausted or not retriable) also goes to the dead-letter
   * place, so `dlq redrive` runs it again. @default the worker's `deadLetterOnFailure`, else false
   */
  readonly deadLetterOnFailure?: boolean;
}

/**
 * A task contract: the name and the schemas of a task, with no handler. Import it from both
 * the producer and the worker; the producer never needs the implementation.
 */
export interface TaskContract<
  TName extends string = string,
  TInput extends AnySchema = AnySchema,
  TOutput extends AnySchema = AnySchema,
> {
  readonly name: TName;
  readonly input: TInput;
  readonly output: TOutput;
  readonly defaults: TaskDefaults<SchemaOutput<TInput>>;
  /** At most this many running at once across the fleet (per key); absent: no such limit. */
  readonly concurrency?: ConcurrencyLimit<SchemaOutput<TInput>>;
  /**
   * Keys of an object input, in schema order: a positional Celery call (`args`) is mapped onto
   * them. `undefined` when the input is not an object; then the input travels as `args[0]`.
   */
  readonly argNames: readonly string[] | undefined;
}

/** The widest contract type, for collections of contracts. */
export type AnyTaskContract = TaskContract<string, AnySchema, AnySchema>;

/** What a producer passes to `enqueue` for this contract. */
export type InferTaskInput<T extends AnyTaskContract> = SchemaInput<T['input']>;
/** What the handler receives after parsing. */
export type InferTaskParsedInput<T extends AnyTaskContract> = SchemaOutput<T['input']>;
/** What the handler must return (before output parsing). */
export type InferTaskReturn<T extends AnyTaskContract> = SchemaInput<T['output']>;
/** What a producer gets back from `handle.result()`. */
export type InferTaskOutput<T extends AnyTaskContract> = SchemaOutput<T['output']>;

/** Definition accepted by {@link defineTask}. */
export interface TaskDefinition<TName extends string, TInput extends AnySchema, TOutput extends AnySchema> {
  /** Celery task name; the wire identity shared with Python workers (e.g. `'tasks.add'`). */
  readonly name: TName;
  readonly input: TInput;
  readonly output: TOutput;
  readonly defaults?: TaskDefaults<SchemaOutput<TInput>>;
  /** At most this many running at once across the fleet, per key of the input. */
  readonly concurrency?: ConcurrencyLimit<SchemaOutput<TInput>>;
}

/** Flow-control settings that cannot work fail when the contract is defined, not on first use. */
function checkFlowLimits(definition: TaskDefinition<string, AnySchema, AnySchema>): void {
  const rate = definition.defaults?.rateLimit;
  if (rate !== undefined) parseRateLimit(typeof rate === 'object' ? rate.limit : rate);
  const c = definition.concurrency;
  if (c && !(Number.isInteger(c.max) && c.max >= 1))
    throw new ConfigError(`${definition.name}: concurrency.max must be an integer ≥ 1, got ${c.max}`);
  if (c?.leaseMs !== undefined && !(c.leaseMs >= 100))
    throw new ConfigError(`${definition.name}: concurrency.leaseMs must be ≥ 100, got ${c.leaseMs}`);
}

/**
 * Defines a task contract.
 *
 * @example
 * ```ts
 * export const add = defineTask({
 *   name: 'demo.add',
 *   input: z.object({ x: z.number(), y: z.number() }),
 *   output: z.number(),
 *   defaults: { retry: { max: 3 }, timeoutMs: 30_000 },
 * });
 * ```
 */
export function defineTask<const TName extends string, TInput extends AnySchema, TOutput extends AnySchema>(
  definition: TaskDefinition<TName, TInput, TOutput>,
): TaskContract<TName, TInput, TOutput> {
  if (!definition.name) throw new TypeError('[celeriac] defineTask: name is required');
  checkFlowLimits(definition);
  return Object.freeze({
    name: definition.name,
    input: definition.input,
    output: definition.output,
    defaults: Object.freeze({ ...definition.defaults }),
    ...(definition.concurrency ? { concurrency: Object.freeze({ ...definition.concurrency }) } : {}),
    argNames: objectKeysOf(definition.input),
  });
}

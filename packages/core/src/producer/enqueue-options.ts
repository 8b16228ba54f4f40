import type { RetryPolicy } from '../contract.js';
import type { DedupeOptions } from '../flow/client-flow.js';
import type { Signature } from '../message.js';

/** Per-call options of `enqueue`; each overrides the contract's defaults. */
export interface EnqueueOptions {
  /** Queue to route to. @default the contract's queue, else 'celery' */
  readonly queue?: string;
  /** Run no sooner than this many ms from now (held by the broker, not the worker). */
  readonly delayMs?: number;
  /** Run no sooner than this time. */
  readonly eta?: Date;
  /** Revoke if not started within this many ms of now. */
  readonly expiresMs?: number;
  /** Revoke if not started by this time. */
  readonly expiresAt?: Date;
  /** 0 (lowest) to 9 (most urgent). */
  readonly priority?: number;
  /** Use this task id (idempotent enqueue: a finished id is not run again). */
  readonly taskId?: string;
  readonly retry?: RetryPolicy;
  readonly timeoutMs?: number;
  readonly softTimeoutMs?: number;
  /** Keep per-key order where the broker partitions (Kafka). */
  readonly orderingKey?: string;
  readonly parentId?: string;
  readonly rootId?: string;
  readonly ignoreResult?: boolean;
  /** How long the result is kept, in ms; 0 keeps it until forgotten. @default the contract's, else the backend's */
  readonly resultTtlMs?: number;
  /** Tasks to run with this task's result prepended to their args (Celery `link`). */
  readonly link?: readonly Signature[];
  /** Tasks to run with this task's id when it fails (Celery `link_error`). */
  readonly linkError?: readonly Signature[];
  /** Extra headers, visible to the worker as `ctx.headers`. */
  readonly headers?: Readonly<Record<string, unknown>>;
  /**
   * Deduplicate by key (`skip`, `replace`, `debounce`, `throttle`; see {@link DedupeOptions}).
   * Needs a result backend that keeps flow state (memory or Redis). `enqueue` and `send` only.
   */
  readonly dedupe?: DedupeOptions;
}

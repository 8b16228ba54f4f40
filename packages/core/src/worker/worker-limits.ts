import type { RetryPolicy } from '../contract.js';
import { ConfigError } from '../errors.js';

/**
 * What a message may ask of a worker. A message comes from the wire, so what it asks for (its
 * retry policy header, the size of what it makes the worker store) is held to these bounds; the
 * worker's own code (a contract's retry policy) is trusted as written.
 */
export interface WorkerLimits {
  /**
   * Most retries a message's `x-celeriac-retry` header may ask for. A contract's own retry policy
   * raises the bound for its task to its own `max`. @default 100
   */
  readonly maxRetries?: number;
  /** Longest retry delay (first delay and backoff cap) a message's header may ask for. @default 86_400_000 (1 day) */
  readonly maxRetryDelayMs?: number;
  /**
   * Largest result stored, in bytes of its JSON: a larger one fails its task with
   * `ResultNotStorableError`, before any callback sees it. Checking costs one more encoding of each
   * object result. Without it a result is encoded once, by the backend, and one that cannot be
   * encoded at all (or is longer than a JS string can be) still fails its task the same way.
   * @default none
   */
  readonly maxResultBytes?: number;
}

/** {@link WorkerLimits} with every default filled in. */
export interface ResolvedWorkerLimits {
  readonly maxRetries: number;
  readonly maxRetryDelayMs: number;
  readonly maxResultBytes: number | undefined;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const DEFAULT_LIMITS: ResolvedWorkerLimits = Object.freeze({
  maxRetries: 100,
  maxRetryDelayMs: 86_400_000,
  maxResultBytes: undefined,
});

/** Fills in the defaults; throws `ConfigError` on a bound that is not a non-negative number. */
export function resolveLimits(limits: WorkerLimits | undefined): ResolvedWorkerLimits {
  if (!limits) return DEFAULT_LIMITS;
  const out: Mutable<ResolvedWorkerLimits> = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof WorkerLimits)[]) {
    const value = limits[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0)
      throw new ConfigError(`limits.${key} must be a non-negative number, got ${String(value)}`);
    out[key] = value;
  }
  return Object.freeze(out);
}

function nonNegative(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/**
 * The retry policy a message's header asks for, held to the worker's limits: at most
 * `limits.maxRetries` retries (or the contract's own `max`, if higher) and delays of at most
 * `limits.maxRetryDelayMs`. Fields that are not numbers (or booleans, for `jitter`) are left to their
 * defaults; a header that is not a policy at all (no numeric `max`) is ignored (`undefined`).
 */
export function clampRetryPolicy(
  header: unknown,
  limits: ResolvedWorkerLimits,
  trusted: RetryPolicy | undefined,
): RetryPolicy | undefined {
  if (typeof header !== 'object' || header === null) return undefined;
  const asked = header as Record<string, unknown>;
  if (!nonNegative(asked.max)) return undefined;
  const ceiling = Math.max(limits.maxRetries, trusted?.max ?? 0);
  const longest = limits.maxRetryDelayMs;
  return {
    max: Math.min(Math.floor(asked.max), ceiling),
    ...(nonNegative(asked.initialDelayMs) ? { initialDelayMs: Math.min(asked.initialDelayMs, longest) } : {}),
    ...(nonNegative(asked.factor) ? { factor: asked.factor } : {}),
    // The backoff cap is always set, so no retry waits longer than the worker allows.
    maxDelayMs: Math.min(nonNegative(asked.maxDelayMs) ? asked.maxDelayMs : 600_000, longest),
    ...(typeof asked.jitter === 'boolean' ? { jitter: asked.jitter } : {}),
  };
}

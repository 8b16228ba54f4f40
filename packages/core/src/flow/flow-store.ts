/**
 * The store-side seams of flow control, kept by a result backend next to the results (as its
 * `flow`): rate-limit buckets, concurrency leases, deduplication entries and paused queues.
 * Every operation is atomic in the store, so a fleet of workers and producers shares one view.
 *
 * @packageDocumentation
 */
import type { ResultBackend } from '../result-backend.js';

/** The answer of {@link FlowStore.reserveRate}. */
export interface RateReservation {
  /** Run now. */
  readonly granted: boolean;
  /** When not granted: how long to wait before coming back. */
  readonly waitMs: number;
  /**
   * When not granted: the reserved start (ms, store clock) the task holds when it comes back;
   * 0 when nothing was reserved (the wait is past the horizon, it will ask again).
   */
  readonly slot: number;
  /** When granted: the start as the bucket recorded it (ms, store clock); 0 otherwise. */
  readonly startedAt: number;
}

/** Options of one {@link FlowStore.reserveRate} call. */
export interface RateRequest {
  /** Most starts in any window of `windowMs`: enforced on the starts themselves. */
  readonly count: number;
  readonly windowMs: number;
  /** Milliseconds between two reserved starts (at least `windowMs / count`). */
  readonly intervalMs: number;
  /** A start reserved earlier, presented on return: it runs once the window allows, not reserved again. */
  readonly slot?: number;
  /** Reserve at most this far ahead; beyond it the caller waits and asks again. */
  readonly horizonMs: number;
  /** A free start is taken this much early rather than waited for. */
  readonly toleranceMs: number;
}

/** One held concurrency lease. */
export interface LeaseRef {
  readonly key: string;
  readonly holder: string;
  readonly ttlMs: number;
}

/** How a deduplication key treats a second enqueue. */
export type DedupeMode = 'skip' | 'replace' | 'debounce' | 'throttle';

/** The answer of {@link FlowStore.claimDedupe}. */
export interface DedupeClaim {
  /** The id that holds the key now: the new one when `created`, else the existing one. */
  readonly id: string;
  /** Whether the new task took the key and must be published. */
  readonly created: boolean;
}

/**
 * Flow state shared by a fleet: a token bucket per rate-limit key, expiring leases per concurrency
 * key, deduplication entries and the set of paused queues.
 */
export interface FlowStore {
  /**
   * Takes a start from the bucket `key`, or reserves the next free one and says how long to wait
   * for it. Reservations are spaced `intervalMs` apart (Celery's token bucket of capacity 1); a
   * start is granted only while fewer than `count` were granted in the last `windowMs` (the bucket
   * keeps their times), so a reserved task that comes back late never makes a burst.
   */
  reserveRate(key: string, request: RateRequest): Promise<RateReservation>;
  /**
   * A grant that reached its worker late (a slow round trip): the start recorded at `startedAt`
   * moves to now if the window still allows it, else it is given back and the answer says how long
   * to wait. Keeps the window exact for starts, not only for grants.
   */
  retakeRate(
    key: string,
    request: Pick<RateRequest, 'count' | 'windowMs'>,
    startedAt: number,
  ): Promise<RateReservation>;
  /**
   * Takes one of `max` slots of `key` for `holder` until `ttlMs` passes (a lease). Resolves with 0
   * when taken, else with the ms until the soonest lease expires.
   */
  acquireLease(key: string, holder: string, max: number, ttlMs: number): Promise<number>;
  /** Extends held leases by their `ttlMs` from now; an expired one is not taken again. */
  renewLeases(leases: readonly LeaseRef[]): Promise<void>;
  releaseLease(key: string, holder: string): Promise<void>;
  /**
   * Claims a deduplication key for task `id` (atomic): `skip` and `throttle` keep an existing
   * holder; `replace` and `debounce` always take the key (the previous holder, if not started, is
   * skipped by the worker). `holdMs` bounds how long an unfinished holder keeps the key.
   */
  claimDedupe(key: string, id: string, mode: DedupeMode, holdMs: number): Promise<DedupeClaim>;
  /** Whether `id` still holds `key` (or nobody does); marks it started. `false`: it was replaced. */
  startDedupe(key: string, id: string): Promise<boolean>;
  /** `id` finished: it keeps the key for `ttlMs` more (0 frees it now), if it still holds it. */
  finishDedupe(key: string, id: string, ttlMs: number): Promise<void>;
  /** Pauses (`true`) or resumes a queue fleet-wide, and tells every listening worker. */
  setQueuePaused(queue: string, paused: boolean): Promise<void>;
  pausedQueues(): Promise<string[]>;
  /**
   * Calls `listener` on every pause or resume from now on; `onResync` when changes may have been
   * missed (load them again). Resolves once listening, with a function that stops it.
   */
  onQueuePause(
    listener: (queue: string, paused: boolean) => void,
    onResync?: () => void,
  ): Promise<() => Promise<void>>;
}

const FLOW_METHODS = [
  'reserveRate',
  'retakeRate',
  'acquireLease',
  'renewLeases',
  'releaseLease',
  'claimDedupe',
  'startDedupe',
  'finishDedupe',
  'setQueuePaused',
  'pausedQueues',
  'onQueuePause',
] as const;

/** A result backend that keeps flow state, as its `flow`. */
export interface WithFlowStore {
  readonly flow: FlowStore;
}

/** The {@link FlowStore} a backend keeps (its `flow`, with every method), if any. */
export function flowStoreOf(backend: ResultBackend | undefined): FlowStore | undefined {
  const flow = (backend as Partial<WithFlowStore> | undefined)?.flow;
  if (typeof flow !== 'object' || flow === null) return undefined;
  const f = flow as unknown as Record<string, unknown>;
  return FLOW_METHODS.every((m) => typeof f[m] === 'function') ? flow : undefined;
}

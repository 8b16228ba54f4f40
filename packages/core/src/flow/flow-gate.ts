import { randomUUID } from 'node:crypto';
import type { TaskDelivery } from '../broker.js';
import type { AnyTaskContract } from '../contract.js';
import { ConfigError } from '../errors.js';
import type { TaskMessage } from '../message.js';
import { type ExceptionInfo, TaskState } from '../result-backend.js';
import type { TaskImplementation } from '../worker/implement.js';
import { rejectDelivery, storeState } from '../worker/outcome-store.js';
import type { RunnerDeps } from '../worker/runner-deps.js';
import { DEDUPE_HEADER, DEFERRALS_HEADER, dedupeOf, RATE_SLOT_HEADER } from './flow-headers.js';
import type { FlowStore, LeaseRef, RateReservation } from './flow-store.js';
import {
  type ParsedRate,
  parseRateLimit,
  RATE_GUARD_MS,
  type RateLimit,
  rateIntervalMs,
} from './rate-limit.js';

/** How far ahead a rate-limit start is reserved; a task further back waits and asks again. */
const RATE_HORIZON_MS = 60_000;
/** A free start this close is taken now rather than waited for through the broker. */
const RATE_TOLERANCE_MS = 5;
/**
 * A grant whose round trip took longer than this may reach the handler late enough to bunch with
 * the next start (a busy event loop, a descheduled process): it is taken again at the store's now.
 */
const RATE_STALE_MS = 15;
/** Most times a late grant is taken again before the task runs anyway. */
const RATE_RETAKES = 1;
const DEFAULT_LEASE_MS = 30_000;
/** Backoff of a task waiting for a concurrency slot: from this, doubling per deferral, up to the cap. */
const SLOT_BACKOFF_MS = 100;
const SLOT_BACKOFF_CAP_MS = 2000;
const REPLACED: ExceptionInfo = {
  exc_type: 'TaskRevokedError',
  exc_message: ['replaced'],
  exc_module: 'celery.exceptions',
};

/** A task's limits, from its contract. */
interface Policy {
  readonly rate: ParsedRate | null;
  readonly rateKey: ((input: unknown) => string) | undefined;
  readonly concurrency: { readonly max: number; readonly leaseMs: number } | undefined;
  readonly slotKey: ((input: unknown) => string) | undefined;
}

/** What an admitted task holds until its handler ends. */
export interface FlowTicket {
  /** Frees its concurrency slot, if it holds one: now, or once `after` settles. */
  release(after?: Promise<unknown>): void;
}

const NO_LEASE: FlowTicket = { release() {} };

function policyOf(contract: AnyTaskContract): Policy | undefined {
  const rateLimit = contract.defaults.rateLimit;
  const c = contract.concurrency;
  if (rateLimit === undefined && !c) return undefined;
  const byKey = typeof rateLimit === 'object' ? rateLimit : undefined;
  return {
    rate: rateLimit === undefined ? null : parseRateLimit(byKey ? byKey.limit : (rateLimit as RateLimit)),
    rateKey: byKey ? (input) => byKey.key(input) : undefined,
    concurrency: c ? { max: c.max, leaseMs: c.leaseMs ?? DEFAULT_LEASE_MS } : undefined,
    slotKey: c?.key ? (input) => (c.key as (i: unknown) => string)(input) : undefined,
  };
}

/** Options of a {@link FlowGate}. */
export interface FlowGateOptions {
  readonly store: FlowStore | undefined;
  readonly registry: ReadonlyMap<string, TaskImplementation>;
  readonly hostname: string;
  readonly onError: (error: unknown) => void;
}

/**
 * The worker's admission step for flow control, after the input is parsed: a replaced dedupe
 * holder is skipped; a task over its concurrency or rate limit goes back to the broker's delayed
 * store (a copy published with the delay, the delivery acknowledged) and holds no slot meanwhile.
 * Admitted tasks hold their concurrency lease until the handler ends, renewed by one timer.
 */
export class FlowGate {
  private readonly policies = new Map<string, Policy>();
  /** Rates set at runtime (`rate_limit`); `null` lifts the contract's. */
  private readonly rates = new Map<string, ParsedRate | null>();
  private readonly held = new Map<string, LeaseRef>();
  private readonly renewEveryMs: number;
  private renewTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: FlowGateOptions) {
    let shortest = Infinity;
    for (const [name, impl] of options.registry) {
      const policy = policyOf(impl.contract);
      if (!policy) continue;
      this.policies.set(name, policy);
      if (policy.concurrency) shortest = Math.min(shortest, policy.concurrency.leaseMs);
    }
    if (this.policies.size > 0 && !options.store)
      throw new ConfigError(
        `tasks with a rate or concurrency limit (${[...this.policies.keys()].join(', ')}) need a result backend that keeps flow state (memory or Redis)`,
      );
    this.renewEveryMs = Number.isFinite(shortest) ? Math.max(50, Math.floor(shortest / 3)) : 0;
  }

  /** Whether a task goes through {@link admit}; cheap, as it is asked of every task. */
  guards(name: string, message: TaskMessage): boolean {
    if (this.policies.has(name) || this.rates.has(name)) return true;
    const dedupe = message.headers[DEDUPE_HEADER];
    return dedupe !== undefined && dedupe !== null && this.options.store !== undefined;
  }

  /** Changes a task's rate at runtime (`null` lifts it); `false` when the task is not registered. */
  setRateLimit(task: string, rate: RateLimit | null): boolean {
    if (!this.options.registry.has(task)) return false;
    const parsed = rate === null ? null : parseRateLimit(rate);
    if (parsed && !this.options.store)
      throw new ConfigError('a rate limit needs a result backend that keeps flow state (memory or Redis)');
    this.rates.set(task, parsed);
    return true;
  }

  /** The rate a task runs under now, if any. */
  rateOf(task: string): ParsedRate | null {
    const own = this.rates.get(task);
    return own !== undefined ? own : (this.policies.get(task)?.rate ?? null);
  }

  /**
   * Admits a task, or settles its delivery (deferred, or skipped as replaced) and resolves with
   * `null`. Rejects only on a store or broker failure (the worker then requeues the delivery).
   */
  async admit(input: unknown, d: TaskDelivery, deps: RunnerDeps): Promise<FlowTicket | null> {
    const store = this.options.store;
    if (!store) return NO_LEASE;
    const { message } = d;
    const { id, task: name } = message.headers;
    const dedupe = dedupeOf(message.headers);
    if (dedupe && (dedupe.mode === 'replace' || dedupe.mode === 'debounce')) {
      if (!(await store.startDedupe(dedupe.key, id))) {
        await skipReplaced(d, deps);
        return null;
      }
    }
    const policy = this.policies.get(name);
    const rate = this.rateOf(name);
    if (!policy?.concurrency && !rate) return NO_LEASE;
    let keys: { slot: string; bucket: string };
    try {
      keys = {
        slot: policy?.slotKey ? `${name}:${policy.slotKey(input)}` : name,
        bucket: policy?.rateKey ? `${name}:${policy.rateKey(input)}` : name,
      };
    } catch (error) {
      // A key function that throws on this input always will: the task fails for good.
      await rejectDelivery(
        deps,
        d,
        'FLOW_KEY_FAILED',
        error instanceof Error ? error : new Error(String(error)),
      );
      return null;
    }
    let lease: LeaseRef | undefined;
    if (policy?.concurrency) {
      const { max, leaseMs } = policy.concurrency;
      const holder = `${this.options.hostname}:${id}:${randomUUID()}`;
      const wait = await store.acquireLease(keys.slot, holder, max, leaseMs);
      if (wait > 0) {
        await defer(d, deps, slotBackoff(message, wait), undefined);
        return null;
      }
      lease = { key: keys.slot, holder, ttlMs: leaseMs };
    }
    if (rate) {
      const slot = message.headers[RATE_SLOT_HEADER];
      let reservation: RateReservation;
      try {
        reservation = await takeRate(store, keys.bucket, rate, typeof slot === 'number' ? slot : undefined);
      } catch (error) {
        if (lease) this.free(lease);
        throw error;
      }
      if (!reservation.granted) {
        if (lease) this.free(lease);
        await defer(d, deps, reservation.waitMs, reservation.slot || undefined);
        return null;
      }
    }
    if (!lease) return NO_LEASE;
    return this.hold(lease);
  }

  private hold(lease: LeaseRef): FlowTicket {
    this.held.set(lease.holder, lease);
    if (!this.renewTimer && this.renewEveryMs > 0) {
      this.renewTimer = setInterval(() => this.renew(), this.renewEveryMs);
      this.renewTimer.unref();
    }
    return {
      release: (after) => {
        if (after)
          void after.then(
            () => this.free(lease),
            () => this.free(lease),
          );
        else this.free(lease);
      },
    };
  }

  private free(lease: LeaseRef): void {
    this.held.delete(lease.holder);
    this.options.store?.releaseLease(lease.key, lease.holder).catch(this.options.onError);
  }

  private renew(): void {
    if (this.held.size === 0) return;
    this.options.store?.renewLeases([...this.held.values()]).catch(this.options.onError);
  }

  /** Stops renewing; leases still held expire by themselves. */
  stop(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }
}

/**
 * A start from the task's bucket. A grant that took long to arrive is taken again at the store's
 * now (a few times at most), so the handler starts close to the time the window counts.
 */
async function takeRate(
  store: FlowStore,
  bucket: string,
  rate: ParsedRate,
  slot: number | undefined,
): Promise<RateReservation> {
  const window = { count: rate.count, windowMs: rate.windowMs + RATE_GUARD_MS };
  let asked = performance.now();
  let r = await store.reserveRate(bucket, {
    ...window,
    intervalMs: rateIntervalMs(rate),
    ...(slot === undefined ? {} : { slot }),
    horizonMs: RATE_HORIZON_MS,
    toleranceMs: RATE_TOLERANCE_MS,
  });
  for (let i = 0; i < RATE_RETAKES && r.granted && performance.now() - asked > RATE_STALE_MS; i++) {
    asked = performance.now();
    r = await store.retakeRate(bucket, window, r.startedAt);
    // Given back: it waits, keeping the start it had reserved, if any.
    if (!r.granted) return { ...r, slot: slot ?? 0 };
  }
  return r;
}

/** The wait before a task denied a concurrency slot asks again: doubling per deferral, jittered. */
function slotBackoff(message: TaskMessage, untilLeaseExpiresMs: number): number {
  const n = Number(message.headers[DEFERRALS_HEADER] ?? 0);
  const ceiling = Math.min(SLOT_BACKOFF_CAP_MS, SLOT_BACKOFF_MS * 2 ** Math.min(10, n));
  // Jittered in [ceiling/2, ceiling] so waiting tasks do not all come back at once.
  return Math.min(untilLeaseExpiresMs, ceiling / 2 + Math.random() * (ceiling / 2));
}

/**
 * Back to the broker's delayed store: a copy with the delay (and the reserved start, if any) is
 * published through the worker's publish interceptors, then the delivery is acknowledged, as a
 * retry is. The copy starts a fresh delivery count, so waiting never makes a task look poisonous.
 */
async function defer(
  d: TaskDelivery,
  deps: RunnerDeps,
  waitMs: number,
  slot: number | undefined,
): Promise<void> {
  const copy: TaskMessage = structuredClone(d.message);
  const headers = copy.headers;
  headers[DEFERRALS_HEADER] = Number(headers[DEFERRALS_HEADER] ?? 0) + 1;
  if (slot === undefined) delete headers[RATE_SLOT_HEADER];
  else headers[RATE_SLOT_HEADER] = slot;
  await deps.publisher.publish({ queue: d.queue, message: copy, delayMs: Math.max(1, Math.round(waitMs)) });
  await d.ack();
}

/** Replaced by a later enqueue with the same dedupe key before it started: REVOKED, never run. */
async function skipReplaced(d: TaskDelivery, deps: RunnerDeps): Promise<void> {
  const { id, task: name } = d.message.headers;
  await storeState(deps, d.message, TaskState.REVOKED, REPLACED);
  await d.ack();
  deps.events.emit('task-revoked', { uuid: id, name, expired: false });
}

import { ConfigError } from '@celeriac/core';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import { DEFAULT_DEAD_LETTER_LIMITS, type DeadLetterLimits } from './keys.js';

/** Options of {@link RedisBroker}. Every duration has a production default. */
export interface RedisBrokerOptions {
  /**
   * Where Redis is: `redis://`, `rediss://` (TLS), `redis+sentinel://h:26379/mymaster`,
   * `redis+cluster://h1:7000,h2:7001` (see the README). Default `redis://127.0.0.1:6379`.
   */
  readonly url?: string;
  /** Extra ioredis options (TLS certificates, timeouts, …), merged over what the URL says. */
  readonly redis?: RedisOptions;
  /** Extra ioredis Cluster options, for `redis+cluster://`. */
  readonly cluster?: ClusterOptions;
  /** How often a consumer renews its heartbeat. @default 5000 */
  readonly heartbeatIntervalMs?: number;
  /**
   * How long after its last heartbeat a consumer counts as dead, and what it held is delivered
   * again. @default 30000
   */
  readonly consumerTimeoutMs?: number;
  /**
   * Heartbeats are renewed from a thread of their own, so a consumer whose event loop is busy (a
   * CPU-bound task) does not look dead. That thread stops renewing once the event loop has not
   * answered for this long, so work held by a process stuck for good is still recovered, this
   * long plus `consumerTimeoutMs` later. `0` renews only from the event loop. @default 300000
   */
  readonly loopStallLimitMs?: number;
  /** How often live consumers look for dead ones (and kombu's visibility timeout). @default 10000 */
  readonly sweepIntervalMs?: number;
  /**
   * kombu's `visibility_timeout`, for messages taken by Python workers that vanished. Use the same
   * value as the Python workers on this Redis. @default 3600
   */
  readonly visibilityTimeoutSeconds?: number;
  /**
   * Deliveries allowed before a message goes to the dead-letter list instead (`DELIVERY_LIMIT`),
   * for consumers that enforce no limit of their own. A worker passes its own `maxDeliveries`
   * (`ConsumeOptions.maxDeliveries`, L), and this becomes a crash-loop backstop of at least
   * max(2L, L + 10), so the worker's limit fires first and stores the FAILURE a waiting caller sees.
   * @default 10
   */
  readonly maxDeliveries?: number;
  /**
   * Longest a consumer waits before looking again without a wake-up (Python producers do not send
   * one). @default 1000
   */
  readonly pollFallbackMs?: number;
  /** Most messages taken in one round trip. @default 100 */
  readonly fetchBatchSize?: number;
  /**
   * Queues where a delay travels only in the message's `eta` header: the message is pushed at once
   * and the consuming worker holds it until due, as Celery does. Use it for queues that only Python
   * workers consume: they never promote Celeriac's delayed store. (A Celeriac worker that takes such
   * a message puts it back in the delayed store itself.) @default []
   */
  readonly etaOnlyQueues?: readonly string[];
  /**
   * Dead letters kept per queue. The list keeps the newest: each one over the cap drops the oldest,
   * and `deadLettersDropped(queue)` counts how many went, so the dead-letter place stays bounded
   * and a loss is visible. @default 10000
   */
  readonly deadLetterMaxEntries?: number;
  /**
   * Bytes of a raw message a dead letter keeps. A larger message keeps its head only; the entry's
   * reason notes the original size, and redrive leaves it in place (it is no longer whole).
   * @default 262144 (256 KiB)
   */
  readonly deadLetterMaxBytes?: number;
}

/** Resolved, validated timing and limits. */
export interface RedisBrokerSettings {
  readonly heartbeatIntervalMs: number;
  readonly consumerTimeoutMs: number;
  /** 0: no heartbeat thread. */
  readonly loopStallLimitMs: number;
  readonly sweepIntervalMs: number;
  readonly visibilityTimeoutSeconds: number;
  readonly maxDeliveries: number;
  readonly pollFallbackMs: number;
  readonly fetchBatchSize: number;
  readonly etaOnlyQueues: ReadonlySet<string>;
  readonly deadLetters: DeadLetterLimits;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0)
    throw new ConfigError(`redis broker: ${name} must be a positive number, got ${v}`);
  return v;
}

/** Applies defaults and checks that the timings make sense together. */
export function resolveOptions(options: RedisBrokerOptions): RedisBrokerSettings {
  const settings: RedisBrokerSettings = {
    heartbeatIntervalMs: positive('heartbeatIntervalMs', options.heartbeatIntervalMs, 5000),
    consumerTimeoutMs: positive('consumerTimeoutMs', options.consumerTimeoutMs, 30_000),
    loopStallLimitMs:
      options.loopStallLimitMs === 0 ? 0 : positive('loopStallLimitMs', options.loopStallLimitMs, 300_000),
    sweepIntervalMs: positive('sweepIntervalMs', options.sweepIntervalMs, 10_000),
    visibilityTimeoutSeconds: positive('visibilityTimeoutSeconds', options.visibilityTimeoutSeconds, 3600),
    maxDeliveries: Math.floor(positive('maxDeliveries', options.maxDeliveries, 10)),
    pollFallbackMs: positive('pollFallbackMs', options.pollFallbackMs, 1000),
    fetchBatchSize: Math.floor(positive('fetchBatchSize', options.fetchBatchSize, 100)),
    etaOnlyQueues: new Set(options.etaOnlyQueues ?? []),
    deadLetters: {
      maxEntries: Math.floor(
        positive('deadLetterMaxEntries', options.deadLetterMaxEntries, DEFAULT_DEAD_LETTER_LIMITS.maxEntries),
      ),
      maxBytes: Math.floor(
        positive('deadLetterMaxBytes', options.deadLetterMaxBytes, DEFAULT_DEAD_LETTER_LIMITS.maxBytes),
      ),
    },
  };
  if (settings.consumerTimeoutMs < 2 * settings.heartbeatIntervalMs) {
    throw new ConfigError(
      `redis broker: consumerTimeoutMs (${settings.consumerTimeoutMs}) must be at least twice heartbeatIntervalMs (${settings.heartbeatIntervalMs}), or live consumers would be taken for dead`,
    );
  }
  if (settings.visibilityTimeoutSeconds * 1000 < 2 * settings.heartbeatIntervalMs) {
    throw new ConfigError(
      `redis broker: visibilityTimeoutSeconds (${settings.visibilityTimeoutSeconds}) must cover at least two heartbeats (${settings.heartbeatIntervalMs} ms each), or held messages would be restored while still running`,
    );
  }
  return settings;
}

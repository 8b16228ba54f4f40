import { ConfigError } from '@celeriac/core';
import { type TaskIndexOption, taskIndexSizeOf } from '@celeriac/core/adapter';
import type { RedisOptions } from 'ioredis';
import { parseBackendUrl, parseReplicaUrl } from './url.js';

/** Options for {@link RedisResultBackend}. Explicit options win over the same setting in the URL. */
export interface RedisResultBackendOptions {
  /**
   * Where the primary is: `redis://`, `rediss://` or `redis+sentinel://` (see {@link parseBackendUrl}).
   * @default 'redis://127.0.0.1:6379'
   */
  readonly url?: string;
  /**
   * A replica (`redis://` or `rediss://`) for `get` and `getMany`. Writes and waits always use the
   * primary. On a sentinel URL, `readFromReplica=true` in the URL does the same.
   */
  readonly readUrl?: string;
  /** How long results live; 0 keeps them until `forget()`. @default 86_400_000 (1 day, as Celery) */
  readonly ttlMs?: number;
  /** Keep results forever (the same as `ttlMs: 0`). A per-call `store(meta, { ttlMs })` still wins. */
  readonly persist?: boolean;
  /** Celery's `result_backend_transport_options.global_keyprefix`. @default '' */
  readonly globalKeyPrefix?: string;
  /** Pipeline the `store()` calls of one event-loop turn into one round trip. @default true */
  readonly batchStores?: boolean;
  /** Most stores sent in one pipeline. @default 1000 */
  readonly maxBatchSize?: number;
  /** How often a pending `wait()` re-reads its key in case a pub/sub message was missed. @default 5000 */
  readonly waitPollIntervalMs?: number;
  /** Client name shown by `CLIENT LIST`; the subscriber gets `<name>:sub`, the reader `<name>:read`. @default 'celeriac-backend' */
  readonly connectionName?: string;
  /** Extra ioredis options merged into every connection (TLS certificates, timeouts, retry strategy…). */
  readonly redisOptions?: RedisOptions;
  /**
   * Keep an index of recent tasks, written by workers, for `client.tasks.list()` (`true`: the
   * 10,000 latest; or `{ max }`). Any backend on the same Redis can list it. @default false
   */
  readonly taskIndex?: TaskIndexOption;
}

/** The options with every default applied and the URL resolved into connection options. */
export interface ResolvedOptions {
  readonly primary: RedisOptions;
  readonly replica: RedisOptions | undefined;
  readonly display: string;
  readonly ttlMs: number;
  readonly globalKeyPrefix: string;
  readonly batchStores: boolean;
  readonly maxBatchSize: number;
  readonly waitPollIntervalMs: number;
  readonly connectionName: string;
  /** Most tasks the index keeps; 0: no index written. */
  readonly taskIndexSize: number;
}

const DAY_MS = 86_400_000;

/** Merges extra ioredis options over URL-derived ones; TLS settings from both are kept. */
function merge(base: RedisOptions, extra: RedisOptions): RedisOptions {
  const merged: RedisOptions = { ...base, ...extra };
  if (base.tls && extra.tls) merged.tls = { ...base.tls, ...extra.tls };
  return merged;
}

function check(ok: boolean, problem: string): void {
  if (!ok) throw new ConfigError(`Redis result backend: ${problem}`);
}

/** Applies defaults, parses URLs and validates; every problem is a {@link ConfigError}. */
export function resolveOptions(options: RedisResultBackendOptions): ResolvedOptions {
  const fromUrl = parseBackendUrl(options.url ?? 'redis://127.0.0.1:6379');
  const ttlMs = options.ttlMs ?? fromUrl.ttlMs ?? DAY_MS;
  const persist = options.persist ?? fromUrl.persist ?? false;
  const maxBatchSize = options.maxBatchSize ?? 1000;
  const waitPollIntervalMs = options.waitPollIntervalMs ?? fromUrl.waitPollIntervalMs ?? 5000;
  check(Number.isFinite(ttlMs) && ttlMs >= 0, `ttlMs must be a number ≥ 0, got ${ttlMs}`);
  check(
    Number.isInteger(maxBatchSize) && maxBatchSize >= 1,
    `maxBatchSize must be an integer ≥ 1, got ${maxBatchSize}`,
  );
  check(
    Number.isFinite(waitPollIntervalMs) && waitPollIntervalMs > 0,
    `waitPollIntervalMs must be > 0, got ${waitPollIntervalMs}`,
  );
  const extra = options.redisOptions ?? {};
  const replica = options.readUrl !== undefined ? parseReplicaUrl(options.readUrl) : fromUrl.replica;
  return {
    primary: merge(fromUrl.primary, extra),
    replica: replica && merge(replica, extra),
    display: fromUrl.display,
    ttlMs: persist ? 0 : ttlMs,
    globalKeyPrefix: options.globalKeyPrefix ?? fromUrl.globalKeyPrefix ?? '',
    batchStores: options.batchStores ?? fromUrl.batchStores ?? true,
    maxBatchSize,
    waitPollIntervalMs,
    connectionName: options.connectionName ?? fromUrl.connectionName ?? 'celeriac-backend',
    taskIndexSize: taskIndexSizeOf(options.taskIndex ?? fromUrl.taskIndex),
  };
}

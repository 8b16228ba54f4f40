import {
  DEFAULT_REVOKE_TTL_MS,
  DEFAULT_REVOKES_MAX,
  type RevokedEntry,
  type RevokeStore,
} from '@celeriac/core/adapter';
import type { Redis } from 'ioredis';
import { toCeleriacError } from './errors.js';

/** Where the revoke log lives: a sorted set (score = expiry, ms) and the channel new revokes go on. */
export interface RevokeKeys {
  readonly set: string;
  readonly channel: string;
}

/** The revoke log's key and channel under a backend's global key prefix (as `keySpace` applies it). */
export function revokeKeys(prefix: string): RevokeKeys {
  const p = prefix === '' || /[:_\-.]$/.test(prefix) ? prefix : `${prefix}_`;
  return { set: `${p}celeriac-revoked`, channel: `${p}celeriac-revoked` };
}

/**
 * The fleet's persisted revoked set on Redis: one sorted set of task ids scored by when their
 * revoke expires, trimmed to the newest `max` on every add, and a `PUBLISH` of each add so
 * listening workers learn it at once. A worker that lost its subscription reloads the set.
 */
export class RedisRevokeStore implements RevokeStore {
  private subscriber: Redis | undefined;
  private readonly listeners = new Set<(ids: readonly string[]) => void>();
  private readonly resyncs = new Set<() => void>();

  constructor(
    private readonly primary: Redis,
    private readonly openSubscriber: () => Redis,
    private readonly keys: RevokeKeys,
    private readonly max = DEFAULT_REVOKES_MAX,
  ) {}

  async addRevoked(ids: readonly string[], ttlMs = DEFAULT_REVOKE_TTL_MS): Promise<void> {
    if (ids.length === 0) return;
    const now = Date.now();
    const expiresAt = now + Math.max(1, ttlMs);
    try {
      await this.primary
        .multi()
        // GT: a revoke never shortens one that lasts longer.
        .zadd(this.keys.set, 'GT', ...ids.flatMap((id) => [expiresAt, id]))
        .zremrangebyscore(this.keys.set, '-inf', now)
        // Bounded as Celery's REVOKES_MAX: the ones expiring first go first.
        .zremrangebyrank(this.keys.set, 0, -(this.max + 1))
        .publish(this.keys.channel, JSON.stringify(ids))
        .exec();
    } catch (error) {
      throw toCeleriacError(error, 'addRevoked');
    }
  }

  async loadRevoked(): Promise<RevokedEntry[]> {
    let flat: string[];
    try {
      flat = await this.primary.zrangebyscore(this.keys.set, `(${Date.now()}`, '+inf', 'WITHSCORES');
    } catch (error) {
      throw toCeleriacError(error, 'loadRevoked');
    }
    const out: RevokedEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2)
      out.push({ id: flat[i] as string, expiresAt: Number(flat[i + 1]) });
    return out;
  }

  async onRevoked(
    listener: (ids: readonly string[]) => void,
    onResync?: () => void,
  ): Promise<() => Promise<void>> {
    this.listeners.add(listener);
    if (onResync) this.resyncs.add(onResync);
    if (!this.subscriber) {
      const sub = this.openSubscriber();
      this.subscriber = sub;
      sub.on('error', () => {});
      sub.on('message', (channel: string, text: string) => {
        if (channel !== this.keys.channel) return;
        let ids: unknown;
        try {
          ids = JSON.parse(text);
        } catch {
          return;
        }
        if (!Array.isArray(ids)) return;
        const list = ids.filter((id): id is string => typeof id === 'string');
        for (const l of this.listeners) l(list);
      });
      let first = true;
      // ioredis resubscribes after a reconnect; what was published meanwhile is reloaded.
      sub.on('ready', () => {
        if (first) first = false;
        else for (const r of this.resyncs) r();
      });
      try {
        await sub.subscribe(this.keys.channel);
      } catch (error) {
        this.subscriber = undefined;
        sub.disconnect();
        throw toCeleriacError(error, 'subscribing to revokes');
      }
    }
    return async () => {
      this.listeners.delete(listener);
      if (onResync) this.resyncs.delete(onResync);
      if (this.listeners.size === 0) await this.close();
    };
  }

  async close(): Promise<void> {
    const sub = this.subscriber;
    this.subscriber = undefined;
    if (sub) await sub.quit().catch(() => sub.disconnect());
  }
}

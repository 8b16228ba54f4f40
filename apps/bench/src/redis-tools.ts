import { Redis } from 'ioredis';

/** A plain ioredis client for measurements and clean-up (never used by a measured system). */
export function openRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 3, lazyConnect: false });
}

/** `INFO memory` → `used_memory` in bytes. */
export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

/** The server's version, from `INFO server`. */
export async function redisVersion(redis: Redis): Promise<string> {
  const info = await redis.info('server');
  return /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown';
}

/**
 * CPU time the Redis server process has used so far (`INFO cpu`: user + system, every thread), ms.
 * Two readings around a run give the server's share of the machine during it.
 */
export async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

/** Unlinks every key matching a glob (SCAN, never KEYS); returns how many went. */
export async function deleteMatching(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length) removed += await redis.unlink(...keys);
  } while (cursor !== '0');
  return removed;
}

/** Unlinks the given keys in batches. */
export async function deleteKeys(redis: Redis, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    if (batch.length) await redis.unlink(...batch);
  }
}

/**
 * Removes everything a run left on Redis: keys whose name contains the run id, and the run's
 * queues from kombu's binding sets (`_kombu.binding.*`), which both we and Celery write.
 */
export async function cleanRun(redis: Redis, runId: string): Promise<number> {
  let removed = await deleteMatching(redis, `*${runId}*`);
  let cursor = '0';
  do {
    const [next, sets] = await redis.scan(cursor, 'MATCH', '_kombu.binding.*', 'COUNT', 1000);
    cursor = next;
    for (const set of sets) {
      const type = await redis.type(set);
      if (type !== 'set') continue;
      const members = (await redis.smembers(set)).filter((m) => m.includes(runId));
      if (members.length) removed += await redis.srem(set, ...members);
    }
  } while (cursor !== '0');
  return removed;
}

/** The result keys (`celery-task-meta-<id>`) of some task ids. */
export function resultKeys(ids: readonly string[]): string[] {
  return ids.map((id) => `celery-task-meta-${id}`);
}

/** Calls per command from `INFO commandstats` (e.g. `{ evalsha: 1200, mget: 40 }`). */
export async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1] as string, Number(m[2]));
  return calls;
}

/** Commands per task between two `commandCalls` snapshots, largest first (the snapshots' own INFO excluded). */
export function commandsPerTask(
  before: Map<string, number>,
  after: Map<string, number>,
  tasks: number,
): { total: number; top: [string, number][] } {
  const diff: [string, number][] = [];
  for (const [cmd, n] of after) {
    const d = n - (before.get(cmd) ?? 0) - (cmd === 'info' ? 1 : 0);
    if (d > 0) diff.push([cmd, d / tasks]);
  }
  diff.sort((a, b) => b[1] - a[1]);
  return { total: diff.reduce((s, [, v]) => s + v, 0), top: diff };
}

import type { ScheduleSpec, ScheduleStore, StoredSchedule, TickClaim } from '@celeriac/core/adapter';
import type { Redis } from 'ioredis';
import { toCeleriacError } from './errors.js';

/** The keys of the stored schedules, with Celery's `global_keyprefix` rule applied. */
export interface ScheduleKeys {
  /** Hash: schedule id → its definition (JSON, as written). */
  readonly specs: string;
  /** Hash: schedule id → revision. */
  readonly revisions: string;
  /** Hash: schedule id → last tick claimed (ms). */
  readonly ticks: string;
  /** String: the version of the set, INCR on every change. */
  readonly version: string;
}

/** The schedule keys under a backend's global key prefix. */
export function scheduleKeys(prefix: string): ScheduleKeys {
  const p = prefix === '' || /[:_\-.]$/.test(prefix) ? prefix : `${prefix}_`;
  const base = `${p}celeriac-schedules`;
  return { specs: base, revisions: `${base}:revisions`, ticks: `${base}:ticks`, version: `${base}:version` };
}

// The definition JSON is stored and returned as written: Lua only moves it, never re-encodes it.
const UPSERT = `
local rev = redis.call('INCR', KEYS[4])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], rev)
local last = redis.call('HGET', KEYS[3], ARGV[1])
if not last then
  last = ARGV[3]
  redis.call('HSET', KEYS[3], ARGV[1], last)
end
return { rev, last }
`;

const REMOVE = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('INCR', KEYS[4])
return 1
`;

// { claimed, stale | previous }: the schedule must exist at this revision, and its last tick be
// before the one claimed.
const CLAIM = `
local rev = redis.call('HGET', KEYS[2], ARGV[1])
if (not rev) or rev ~= ARGV[2] then return { 0, 1 } end
local last = redis.call('HGET', KEYS[3], ARGV[1]) or '0'
if tonumber(last) >= tonumber(ARGV[3]) then return { 0, 0 } end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
return { 1, last }
`;

interface ScheduleScriptClient extends Redis {
  celeriacScheduleUpsert(...args: (string | number)[]): Promise<[number, string]>;
  celeriacScheduleRemove(...args: (string | number)[]): Promise<number>;
  celeriacScheduleClaim(...args: (string | number)[]): Promise<[number, number | string]>;
}

function withScheduleScripts(client: Redis): ScheduleScriptClient {
  client.defineCommand('celeriacScheduleUpsert', { numberOfKeys: 4, lua: UPSERT });
  client.defineCommand('celeriacScheduleRemove', { numberOfKeys: 4, lua: REMOVE });
  client.defineCommand('celeriacScheduleClaim', { numberOfKeys: 3, lua: CLAIM });
  return client as ScheduleScriptClient;
}

/**
 * Stored schedules on Redis: a hash of definitions, their revisions and last ticks, and a version
 * counter, changed only by Lua scripts, so an upsert, a removal and a tick claim are each atomic
 * however many schedulers share the server.
 */
export class RedisScheduleStore implements ScheduleStore {
  private readonly client: ScheduleScriptClient;

  constructor(
    primary: Redis,
    private readonly keys: ScheduleKeys,
  ) {
    this.client = withScheduleScripts(primary);
  }

  private get all(): string[] {
    const k = this.keys;
    return [k.specs, k.revisions, k.ticks, k.version];
  }

  async upsertSchedule(spec: ScheduleSpec, now: number): Promise<StoredSchedule> {
    let reply: [number, string];
    try {
      reply = await this.client.celeriacScheduleUpsert(
        ...this.all,
        spec.id,
        JSON.stringify(spec),
        Math.floor(now),
      );
    } catch (error) {
      throw toCeleriacError(error, 'upsertSchedule');
    }
    return {
      ...(JSON.parse(JSON.stringify(spec)) as ScheduleSpec),
      revision: reply[0],
      lastTickAt: Number(reply[1]),
    };
  }

  async removeSchedule(id: string): Promise<boolean> {
    try {
      return (await this.client.celeriacScheduleRemove(...this.all, id)) === 1;
    } catch (error) {
      throw toCeleriacError(error, 'removeSchedule');
    }
  }

  async listSchedules(): Promise<{ version: number; schedules: StoredSchedule[] }> {
    const k = this.keys;
    let replies: [Error | null, unknown][] | null;
    try {
      // One MULTI: a consistent snapshot of definitions, revisions, ticks and version.
      replies = await this.client
        .multi()
        .hgetall(k.specs)
        .hgetall(k.revisions)
        .hgetall(k.ticks)
        .get(k.version)
        .exec();
    } catch (error) {
      throw toCeleriacError(error, 'listSchedules');
    }
    const failed = replies?.find(([error]) => error)?.[0];
    if (!replies || failed)
      throw toCeleriacError(failed ?? new Error('transaction aborted'), 'listSchedules');
    const [specs, revisions, ticks, version] = replies.map(([, value]) => value) as [
      Record<string, string>,
      Record<string, string>,
      Record<string, string>,
      string | null,
    ];
    const schedules = Object.entries(specs).map(([id, json]) => ({
      ...(JSON.parse(json) as ScheduleSpec),
      revision: Number(revisions[id] ?? 0),
      lastTickAt: Number(ticks[id] ?? 0),
    }));
    return { version: Number(version ?? 0), schedules };
  }

  async schedulesVersion(): Promise<number> {
    try {
      return Number((await this.client.get(this.keys.version)) ?? 0);
    } catch (error) {
      throw toCeleriacError(error, 'schedulesVersion');
    }
  }

  async claimTick(id: string, revision: number, at: number): Promise<TickClaim> {
    const k = this.keys;
    let reply: [number, number | string];
    try {
      reply = await this.client.celeriacScheduleClaim(
        k.specs,
        k.revisions,
        k.ticks,
        id,
        String(revision),
        at,
      );
    } catch (error) {
      throw toCeleriacError(error, 'claimTick');
    }
    return reply[0] === 1
      ? { claimed: true, previous: Number(reply[1]) }
      : { claimed: false, stale: reply[1] === 1 };
  }
}

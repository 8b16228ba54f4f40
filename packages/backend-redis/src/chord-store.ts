import type { ChordPart } from '@celeriac/core/adapter';
import type { ChainableCommander, Redis } from 'ioredis';
import { toCeleriacError } from './errors.js';
import type { KeySpace } from './keys.js';
import { decodeChordMember, encodeChordMember } from './meta-codec.js';

/** Adds Celery's `set` (write with or without a TTL) to a MULTI. */
export function setWithTtl(
  multi: ChainableCommander,
  key: string,
  value: string,
  ttlMs: number,
): ChainableCommander {
  if (ttlMs <= 0) return multi.set(key, value);
  return ttlMs % 1000 === 0
    ? multi.setex(key, ttlMs / 1000, value)
    : multi.psetex(key, Math.ceil(ttlMs), value);
}

/** Runs a MULTI and returns its replies, turning the first command error into a backend error. */
export async function execMulti(operation: string, multi: ChainableCommander): Promise<unknown[]> {
  let replies: [Error | null, unknown][] | null;
  try {
    replies = await multi.exec();
  } catch (error) {
    throw toCeleriacError(error, operation);
  }
  if (!replies) throw toCeleriacError(new Error('transaction aborted'), operation);
  const failed = replies.find(([error]) => error);
  if (failed?.[0]) throw toCeleriacError(failed[0], operation);
  return replies.map(([, value]) => value);
}

function toInt(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/**
 * Celery's chord join on Redis (`celery-taskset-meta-<gid>.j/.s/.t`), so Python and TS workers can
 * share one chord header.
 */
export class ChordStore {
  constructor(
    private readonly primary: Redis,
    private readonly keys: KeySpace,
    private readonly ttlMs: number,
  ) {}

  /** `SETEX .s <ttl> <size>` plus `PUBLISH`, as Celery's producer does (`set_chord_size`). */
  async setSize(groupId: string, size: number): Promise<void> {
    const key = this.keys.chord(groupId).size;
    const multi = setWithTtl(this.primary.multi(), key, String(size), this.ttlMs).publish(key, String(size));
    await execMulti('setChordSize', multi);
  }

  /**
   * ZADD the part (score = index), then ZCOUNT, GET `.t`, GET `.s` and refresh the TTLs, all in one
   * MULTI. The part's index is cleared first, so a redelivered header task is counted once.
   */
  async addPart(groupId: string, part: ChordPart): Promise<{ done: number; size: number | null }> {
    const { join, size, delta } = this.keys.chord(groupId);
    const multi = this.primary.multi();
    const score = Number.isFinite(part.index) ? String(part.index) : '+inf';
    if (Number.isFinite(part.index)) multi.zremrangebyscore(join, score, score);
    multi.zadd(join, score, encodeChordMember(part)).zcount(join, '-inf', '+inf').get(delta).get(size);
    if (this.ttlMs > 0) {
      const seconds = Math.max(1, Math.ceil(this.ttlMs / 1000));
      multi.expire(join, seconds).expire(delta, seconds).expire(size, seconds);
    }
    const replies = await execMulti('addChordPart', multi);
    const offset = Number.isFinite(part.index) ? 1 : 0;
    const done = toInt(replies[offset + 1]) ?? 0;
    const total = toInt(replies[offset + 3]);
    return { done, size: total === null ? null : total + (toInt(replies[offset + 2]) ?? 0) };
  }

  /** The parts in index order (`ZRANGE .j 0 -1`). */
  async parts(groupId: string): Promise<ChordPart[]> {
    const { join } = this.keys.chord(groupId);
    let flat: string[];
    try {
      flat = await this.primary.zrange(join, 0, -1, 'WITHSCORES');
    } catch (error) {
      throw toCeleriacError(error, 'getChordParts');
    }
    const parts: ChordPart[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2)
      parts.push(decodeChordMember(flat[i] as string, flat[i + 1] as string, join));
    return parts;
  }

  /** `DEL .j .t .s`, as Celery does once the body is sent. */
  async delete(groupId: string): Promise<void> {
    const { join, size, delta } = this.keys.chord(groupId);
    await execMulti('deleteChord', this.primary.multi().del(join).del(delta).del(size));
  }
}

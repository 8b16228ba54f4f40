import { randomUUID } from 'node:crypto';
import { requireService } from '@celeriac/test-services';
import { waitFor } from '@celeriac/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { backend, closeAll, listen, REDIS_URL, raw } from './helpers.js';

const up = await requireService('redis', REDIS_URL);

describe.skipIf(!up)('chord join keys as Celery writes them', () => {
  afterEach(closeAll);

  it('writes .s with SETEX + PUBLISH, and .j as a zset of [1, task_id, state, result] scored by index', async () => {
    const b = backend();
    const gid = randomUUID();
    const base = `celery-taskset-meta-${gid}`;
    const channel = await listen(`${base}.s`);
    await b.setChordSize(gid, 2);
    const r = raw();
    expect(await r.get(`${base}.s`)).toBe('2');
    expect(await r.ttl(`${base}.s`)).toBeGreaterThan(86_390);
    await waitFor(() => channel.messages.length === 1, { what: 'PUBLISH of .s' });
    expect(channel.messages).toEqual(['2']);

    expect(
      await b.addChordPart(gid, { index: 1, taskId: 't1', state: 'SUCCESS', result: { v: 'b' } }),
    ).toEqual({
      done: 1,
      size: 2,
    });
    expect(await b.addChordPart(gid, { index: 0, taskId: 't0', state: 'SUCCESS', result: 'a' })).toEqual({
      done: 2,
      size: 2,
    });
    const members = await r.zrange(`${base}.j`, 0, -1, 'WITHSCORES');
    expect(members).toEqual(['[1,"t0","SUCCESS","a"]', '0', '[1,"t1","SUCCESS",{"v":"b"}]', '1']);
    expect(await r.ttl(`${base}.j`)).toBeGreaterThan(86_390);

    await b.deleteChord(gid);
    expect(await r.exists(`${base}.j`, `${base}.s`, `${base}.t`)).toBe(0);
  });

  it('adds the .t delta to the size, reads a missing .s as unknown, and counts a redelivered part once', async () => {
    const b = backend();
    const gid = randomUUID();
    const base = `celery-taskset-meta-${gid}`;
    expect(await b.addChordPart(gid, { index: 0, taskId: 't0', state: 'SUCCESS', result: 1 })).toEqual({
      done: 1,
      size: null,
    });
    await b.setChordSize(gid, 2);
    await raw().incr(`${base}.t`); // what Celery's add_to_chord does
    expect(
      await b.addChordPart(gid, { index: 0, taskId: 't0', state: 'SUCCESS', result: 'retried' }),
    ).toEqual({
      done: 1,
      size: 3,
    });
    await b.deleteChord(gid);
  });

  it('reads parts a Python worker added, including failures and a part without group_index', async () => {
    const b = backend();
    const gid = randomUUID();
    const base = `celery-taskset-meta-${gid}`;
    const r = raw();
    await r.zadd(
      `${base}.j`,
      0,
      '[1, "a", "SUCCESS", {"__type__": "datetime", "__value__": "2024-01-02T03:04:05+00:00"}]',
    );
    await r.zadd(
      `${base}.j`,
      1,
      '[1, "b", "FAILURE", {"exc_type": "ValueError", "exc_message": ["bad"], "exc_module": "builtins"}]',
    );
    await r.zadd(`${base}.j`, '+inf', '[1, "c", "SUCCESS", null]');
    const parts = await b.getChordParts(gid);
    expect(parts.map((p) => [p.index, p.taskId, p.state])).toEqual([
      [0, 'a', 'SUCCESS'],
      [1, 'b', 'FAILURE'],
      [Number.POSITIVE_INFINITY, 'c', 'SUCCESS'],
    ]);
    expect(parts[0]?.result).toEqual(new Date('2024-01-02T03:04:05Z'));
    expect(parts[1]?.result).toEqual({
      exc_type: 'ValueError',
      exc_message: ['bad'],
      exc_module: 'builtins',
    });
    await b.deleteChord(gid);
  });

  it('keeps chord keys forever in persist mode', async () => {
    const b = backend({ persist: true });
    const gid = randomUUID();
    const base = `celery-taskset-meta-${gid}`;
    await b.setChordSize(gid, 1);
    await b.addChordPart(gid, { index: 0, taskId: 't0', state: 'SUCCESS', result: 1 });
    expect(await raw().ttl(`${base}.s`)).toBe(-1);
    expect(await raw().ttl(`${base}.j`)).toBe(-1);
    await b.deleteChord(gid);
  });
});

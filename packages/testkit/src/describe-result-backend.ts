import { randomUUID } from 'node:crypto';
import { type BackendCapabilities, type ResultBackend, ResultTimeoutError, TaskState } from '@celeriac/core';
import { buildMeta, type ChordJoin, hasChordJoin, hasRevokeStore } from '@celeriac/core/adapter';
import type { ScheduleLock } from '@celeriac/core/producer';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from './wait-for.js';

/** How a result backend plugs into {@link describeResultBackend}. */
export interface ResultBackendSuiteOptions<B extends ResultBackend = ResultBackend> {
  readonly create: () => B | Promise<B>;
  /** What the backend declares; absent capabilities are skipped visibly, present ones must pass. */
  readonly capabilities: BackendCapabilities;
  /**
   * The scheduler lock the backend offers, if any (`(b) => b` when the backend has `claim`). Without
   * it the lock test is skipped visibly: a lock is not part of `ResultBackend`.
   */
  readonly lock?: (backend: B) => ScheduleLock;
}

/** The backend narrowed to its chord join; a `chord: true` declaration without the methods fails here. */
function chordJoinOf(backend: ResultBackend): ResultBackend & ChordJoin {
  if (!hasChordJoin(backend))
    throw new Error(`${backend.name} declares capabilities.chord but lacks the ChordJoin methods`);
  return backend;
}

/**
 * The result backend conformance suite; see {@link describeBroker} for the pattern.
 *
 * @example
 * ```ts
 * describeResultBackend('redis', {
 *   create: () => new RedisResultBackend({ url }),
 *   capabilities: redisBackendCapabilities,
 *   lock: (backend) => backend,
 * });
 * ```
 */
export function describeResultBackend<B extends ResultBackend>(
  name: string,
  options: ResultBackendSuiteOptions<B>,
): void {
  describe(`result backend conformance: ${name}`, () => {
    const open: B[] = [];
    const backend = async () => {
      const b = await options.create();
      open.push(b);
      return b;
    };
    afterEach(async () => {
      await Promise.allSettled(open.splice(0).map((b) => b.close()));
    });

    it('stores and reads back a result; an unknown id is PENDING (null)', async () => {
      const b = await backend();
      const id = randomUUID();
      expect(await b.get(id)).toBeNull();
      await b.store(buildMeta(TaskState.SUCCESS, id, { sum: 5, list: [1, 'a', null] }));
      const meta = await b.get(id);
      expect(meta?.status).toBe('SUCCESS');
      expect(meta?.result).toEqual({ sum: 5, list: [1, 'a', null] });
      expect(meta?.task_id).toBe(id);
      expect(typeof meta?.date_done).toBe('string');
    });

    it('stores failures in Celery form', async () => {
      const b = await backend();
      const id = randomUUID();
      await b.store(buildMeta(TaskState.FAILURE, id, new TypeError('bad input')));
      const meta = await b.get(id);
      expect(meta?.status).toBe('FAILURE');
      expect(meta?.result).toEqual({
        exc_type: 'TypeError',
        exc_message: ['bad input'],
        exc_module: 'builtins',
      });
      expect(meta?.traceback).toContain('bad input');
    });

    it('never overwrites a SUCCESS', async () => {
      const b = await backend();
      const id = randomUUID();
      await b.store(buildMeta(TaskState.SUCCESS, id, 1));
      await b.store(buildMeta(TaskState.STARTED, id, null));
      await b.store(buildMeta(TaskState.FAILURE, id, new Error('late duplicate')));
      expect((await b.get(id))?.status).toBe('SUCCESS');
      expect((await b.get(id))?.result).toBe(1);
    });

    it('keeps every ready state: nothing stores over a REVOKED or a FAILURE', async () => {
      const b = await backend();
      const revoked = randomUUID();
      const failed = randomUUID();
      await b.store(buildMeta(TaskState.REVOKED, revoked, new Error('terminated')));
      await b.store(buildMeta(TaskState.SUCCESS, revoked, 'finished anyway'));
      await b.store(buildMeta(TaskState.FAILURE, failed, new Error('first')));
      await b.store(buildMeta(TaskState.SUCCESS, failed, 'late duplicate'));
      expect((await b.get(revoked))?.status).toBe('REVOKED');
      expect((await b.get(failed))?.status).toBe('FAILURE');
    });

    it('keeps revokes when it has a revoke store: persisted, announced, expiring on their own', async (ctx) => {
      const b = await backend();
      if (!hasRevokeStore(b)) return ctx.skip();
      const heard: string[] = [];
      const stop = await b.onRevoked((ids) => heard.push(...ids));
      const [kept, brief] = [randomUUID(), randomUUID()];
      await b.addRevoked([kept]);
      await b.addRevoked([brief], 50);
      await sleep(100);
      const ids = (await b.loadRevoked()).map((e) => e.id);
      expect(ids).toContain(kept);
      expect(ids).not.toContain(brief);
      expect(heard).toEqual(expect.arrayContaining([kept, brief]));
      await stop();
    });

    it('reads many results at once, in order', async () => {
      const b = await backend();
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      await b.store(buildMeta(TaskState.SUCCESS, ids[0] as string, 'a'));
      await b.store(buildMeta(TaskState.SUCCESS, ids[2] as string, 'c'));
      const metas = await b.getMany(ids);
      expect(metas.map((m) => m?.result ?? null)).toEqual(['a', null, 'c']);
    });

    it('wakes a waiter when the result lands, and ignores non-ready states', async () => {
      const writer = await backend();
      const reader = await backend();
      const id = randomUUID();
      const waiting = reader.wait(id, { timeoutMs: 10_000 });
      await sleep(100);
      await writer.store(buildMeta(TaskState.STARTED, id, null));
      await writer.store(buildMeta(TaskState.RETRY, id, new Error('try again')));
      await sleep(50);
      await writer.store(buildMeta(TaskState.SUCCESS, id, 42));
      const meta = await waiting;
      expect(meta.status).toBe('SUCCESS');
      expect(meta.result).toBe(42);
    });

    it('resolves a wait for a result that is already there', async () => {
      const b = await backend();
      const id = randomUUID();
      await b.store(buildMeta(TaskState.FAILURE, id, new Error('done before')));
      expect((await b.wait(id, { timeoutMs: 5_000 })).status).toBe('FAILURE');
    });

    it('times out a wait with ResultTimeoutError', async () => {
      const b = await backend();
      const error = await b.wait(randomUUID(), { timeoutMs: 200 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ResultTimeoutError);
    });

    it('serves many concurrent waits', async () => {
      const writer = await backend();
      const reader = await backend();
      const ids = Array.from({ length: 100 }, () => randomUUID());
      const waits = ids.map((id) => reader.wait(id, { timeoutMs: 15_000 }));
      await sleep(100);
      await Promise.all(ids.map((id, i) => writer.store(buildMeta(TaskState.SUCCESS, id, i))));
      const metas = await Promise.all(waits);
      expect(metas.map((m) => m.result)).toEqual(ids.map((_, i) => i));
    });

    it('forgets a result', async () => {
      const b = await backend();
      const id = randomUUID();
      await b.store(buildMeta(TaskState.SUCCESS, id, 1));
      await b.forget(id);
      expect(await b.get(id)).toBeNull();
    });

    it('keeps dates and bytes through kombu tags', async () => {
      const b = await backend();
      const id = randomUUID();
      const when = new Date('2024-01-02T03:04:05.678Z');
      await b.store(buildMeta(TaskState.SUCCESS, id, { when, bytes: new Uint8Array([0, 255]) }));
      const result = (await b.get(id))?.result as { when: Date; bytes: Uint8Array };
      expect(result.when).toEqual(when);
      expect(result.bytes).toEqual(new Uint8Array([0, 255]));
    });

    it.skipIf(!options.capabilities.ttl)('expires results after their TTL', async () => {
      const b = await backend();
      const id = randomUUID();
      await b.store(buildMeta(TaskState.SUCCESS, id, 1), { ttlMs: 1000 });
      expect(await b.get(id)).not.toBeNull();
      await sleep(2100);
      expect(await b.get(id)).toBeNull();
    });

    const { lock } = options;
    it.skipIf(!lock)('grants a claim to exactly one caller until it expires', async () => {
      if (!lock) return;
      const [a, b] = [lock(await backend()), lock(await backend())];
      const key = `testkit-claim-${randomUUID()}`;
      const results = await Promise.all([a.claim(key, 400), b.claim(key, 400), a.claim(key, 400)]);
      expect(results.filter(Boolean)).toHaveLength(1);
      await sleep(600);
      expect(await b.claim(key, 400)).toBe(true);
    });

    it.skipIf(!options.capabilities.chord)('joins chord parts atomically and in index order', async () => {
      const b = chordJoinOf(await backend());
      const gid = randomUUID();
      await b.setChordSize(gid, 3);
      const results = await Promise.all(
        [2, 0, 1].map((index) =>
          b.addChordPart(gid, { index, taskId: `t${index}`, state: 'SUCCESS', result: index * 10 }),
        ),
      );
      expect(results.map((r) => r.done).sort()).toEqual([1, 2, 3]);
      expect(results.every((r) => r.size === 3)).toBe(true);
      const parts = await b.getChordParts(gid);
      expect(parts.map((p) => [p.index, p.taskId, p.result])).toEqual([
        [0, 't0', 0],
        [1, 't1', 10],
        [2, 't2', 20],
      ]);
      await b.deleteChord(gid);
      expect(await b.getChordParts(gid)).toEqual([]);
    });
  });
}

import { randomUUID } from 'node:crypto';
import type { ResultBackend } from '@celeriac/core';
import {
  type FlowStore,
  flowStoreOf,
  type TaskIndex,
  type TaskSummary,
  taskIndexOf,
} from '@celeriac/core/adapter';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep, waitFor } from './wait-for.js';

/** How a backend's flow store plugs into {@link describeFlowStore}. */
export interface FlowStoreSuiteOptions<B extends ResultBackend = ResultBackend> {
  /**
   * A backend with a `flow` store and a `taskIndex` writing at most `taskIndexSize` tasks; every
   * backend made within a test must share the same state (e.g. one Redis).
   */
  readonly create: (options: { readonly taskIndexSize: number }) => B | Promise<B>;
  readonly close?: (backend: B) => Promise<void>;
}

/** A backend's flow store and task index, or a failure naming what it lacks. */
function partsOf(backend: ResultBackend): { flow: FlowStore; index: TaskIndex } {
  const flow = flowStoreOf(backend);
  const index = taskIndexOf(backend);
  if (!flow || !index) throw new Error(`${backend.name} has no ${flow ? 'taskIndex' : 'flow store'}`);
  return { flow, index };
}

const RATE = { horizonMs: 60_000, toleranceMs: 5 } as const;

/**
 * The conformance suite of a {@link FlowStore} (and the {@link TaskIndex} next to it): a rate
 * bucket that spaces reservations and never grants more than its count in a window, leases that
 * cap and expire, the four
 * dedupe modes with concurrent claims, pauses announced to listeners, and a capped index.
 *
 * @example
 * ```ts
 * describeFlowStore('redis', {
 *   create: ({ taskIndexSize }) => new RedisResultBackend({ url, taskIndex: { max: taskIndexSize } }),
 *   close: (b) => b.close(),
 * });
 * ```
 */
export function describeFlowStore<B extends ResultBackend>(
  name: string,
  options: FlowStoreSuiteOptions<B>,
): void {
  describe(`flow store conformance: ${name}`, () => {
    const open: B[] = [];
    const store = async (taskIndexSize = 0) => {
      const b = await options.create({ taskIndexSize });
      open.push(b);
      return partsOf(b);
    };
    afterEach(async () => {
      await Promise.allSettled(open.splice(0).map((b) => options.close?.(b)));
    });

    it('spaces reserved starts of a bucket and says how long to wait for each', async () => {
      const s = await store();
      const key = randomUUID();
      const rate = { count: 1, windowMs: 1000, intervalMs: 1000, ...RATE };
      const first = await s.flow.reserveRate(key, rate);
      expect(first.granted).toBe(true);
      const second = await s.flow.reserveRate(key, rate);
      expect(second.granted).toBe(false);
      expect(second.waitMs).toBeGreaterThan(900);
      expect(second.waitMs).toBeLessThanOrEqual(1000);
      // The third is reserved after the second.
      const third = await s.flow.reserveRate(key, rate);
      expect(third.slot - second.slot).toBeGreaterThanOrEqual(999);
      // Other buckets are independent.
      expect((await s.flow.reserveRate(randomUUID(), rate)).granted).toBe(true);
    });

    it('grants a reserved start that comes back, on time or late, once the window allows it', async () => {
      const s = await store();
      const key = randomUUID();
      const rate = { count: 1, windowMs: 200, intervalMs: 200, ...RATE };
      await s.flow.reserveRate(key, rate);
      const reserved = await s.flow.reserveRate(key, rate);
      expect(reserved.granted).toBe(false);
      const early = await s.flow.reserveRate(key, { ...rate, slot: reserved.slot });
      expect(early).toMatchObject({ granted: false, slot: reserved.slot });
      // Late: still granted without a new reservation, as the window has room.
      await sleep(reserved.waitMs + 100);
      expect((await s.flow.reserveRate(key, { ...rate, slot: reserved.slot })).granted).toBe(true);
      // Nothing else was reserved: the next free start follows the reserved one.
      const next = await s.flow.reserveRate(key, rate);
      expect(next.slot).toBe(reserved.slot + 200);
    });

    it('never grants more than count starts in a window, whatever reservations say', async () => {
      const s = await store();
      const key = randomUUID();
      // Two tasks reserved far apart, both coming back at the same moment: only one runs now.
      const rate = { count: 1, windowMs: 300, intervalMs: 10, ...RATE };
      await s.flow.reserveRate(key, rate);
      const a = await s.flow.reserveRate(key, rate);
      const b = await s.flow.reserveRate(key, rate);
      await sleep(100);
      expect((await s.flow.reserveRate(key, { ...rate, slot: a.slot })).granted).toBe(false);
      await sleep(250);
      expect((await s.flow.reserveRate(key, { ...rate, slot: a.slot })).granted).toBe(true);
      const late = await s.flow.reserveRate(key, { ...rate, slot: b.slot });
      expect(late.granted).toBe(false);
      expect(late.waitMs).toBeGreaterThan(200);
      // A burst of `count` is fine when the window is empty.
      const burst = { count: 5, windowMs: 10_000, intervalMs: 0, ...RATE };
      const other = randomUUID();
      const grants = [];
      for (let i = 0; i < 7; i++) grants.push((await s.flow.reserveRate(other, burst)).granted);
      expect(grants).toEqual([true, true, true, true, true, false, false]);
    });

    it('takes a late grant again at now, or gives it back when the window is full', async () => {
      const s = await store();
      const key = randomUUID();
      const rate = { count: 1, windowMs: 300, intervalMs: 300, ...RATE };
      const first = await s.flow.reserveRate(key, rate);
      await sleep(50);
      const retaken = await s.flow.retakeRate(key, rate, first.startedAt);
      expect(retaken.granted).toBe(true);
      expect(retaken.startedAt).toBeGreaterThanOrEqual(first.startedAt + 40);
      // Another start took the window meanwhile: the late one is given back with the wait.
      const other = randomUUID();
      const both = { ...rate, count: 2, intervalMs: 0 };
      const mine = await s.flow.reserveRate(other, both);
      expect((await s.flow.reserveRate(other, both)).granted).toBe(true);
      const refused = await s.flow.retakeRate(other, { count: 1, windowMs: 300 }, mine.startedAt);
      expect(refused.granted).toBe(false);
      expect(refused.waitMs).toBeGreaterThan(200);
    });

    it('reserves nothing beyond the horizon', async () => {
      const s = await store();
      const key = randomUUID();
      const rate = { count: 1, windowMs: 10_000, intervalMs: 10_000, ...RATE, horizonMs: 5000 };
      await s.flow.reserveRate(key, rate);
      expect(await s.flow.reserveRate(key, rate)).toEqual({
        granted: false,
        waitMs: 5000,
        slot: 0,
        startedAt: 0,
      });
    });

    it('grants at most max leases per key; a release or an expiry frees one; renewal keeps one', async () => {
      const s = await store();
      const key = randomUUID();
      expect(await s.flow.acquireLease(key, 'a', 2, 300)).toBe(0);
      expect(await s.flow.acquireLease(key, 'b', 2, 10_000)).toBe(0);
      expect(await s.flow.acquireLease(key, 'c', 2, 300)).toBeGreaterThan(0);
      await s.flow.releaseLease(key, 'b');
      expect(await s.flow.acquireLease(key, 'c', 2, 300)).toBe(0);
      // 'c' is renewed, 'a' is not: once both would have expired, only 'a' is gone.
      await sleep(200);
      await s.flow.renewLeases([{ key, holder: 'c', ttlMs: 300 }]);
      await sleep(200);
      expect(await s.flow.acquireLease(key, 'd', 2, 300)).toBe(0);
      expect(await s.flow.acquireLease(key, 'e', 2, 300)).toBeGreaterThan(0);
    });

    it('skip and throttle keep the first claim of concurrent ones; replace and debounce take the key', async () => {
      const s = await store();
      for (const mode of ['skip', 'throttle'] as const) {
        const key = randomUUID();
        const ids = Array.from({ length: 20 }, () => randomUUID());
        const claims = await Promise.all(ids.map((id) => s.flow.claimDedupe(key, id, mode, 10_000)));
        expect(claims.filter((c) => c.created)).toHaveLength(1);
        expect(new Set(claims.map((c) => c.id)).size).toBe(1);
      }
      const key = randomUUID();
      await s.flow.claimDedupe(key, 'first', 'replace', 10_000);
      expect(await s.flow.claimDedupe(key, 'second', 'debounce', 10_000)).toEqual({
        id: 'second',
        created: true,
      });
      expect(await s.flow.startDedupe(key, 'first')).toBe(false);
      expect(await s.flow.startDedupe(key, 'second')).toBe(true);
      expect(await s.flow.startDedupe(randomUUID(), 'anyone')).toBe(true);
    });

    it('a finished skip holder keeps its key for the TTL, then frees it; throttle lasts its hold', async () => {
      const s = await store();
      const key = randomUUID();
      await s.flow.claimDedupe(key, 'x', 'skip', 60_000);
      await s.flow.finishDedupe(key, 'someone-else', 0);
      expect((await s.flow.claimDedupe(key, 'y', 'skip', 60_000)).id).toBe('x');
      await s.flow.finishDedupe(key, 'x', 150);
      expect((await s.flow.claimDedupe(key, 'y', 'skip', 60_000)).id).toBe('x');
      await sleep(250);
      expect(await s.flow.claimDedupe(key, 'y', 'skip', 60_000)).toEqual({ id: 'y', created: true });
      const t = randomUUID();
      await s.flow.claimDedupe(t, 'x', 'throttle', 150);
      await sleep(250);
      expect((await s.flow.claimDedupe(t, 'y', 'throttle', 150)).created).toBe(true);
    });

    it('pauses and resumes queues, and tells listeners', async () => {
      const [a, b] = [await store(), await store()];
      const queue = `q-${randomUUID()}`;
      const heard: [string, boolean][] = [];
      const stop = await b.flow.onQueuePause((q, paused) => {
        if (q === queue) heard.push([q, paused]);
      });
      await a.flow.setQueuePaused(queue, true);
      expect(await b.flow.pausedQueues()).toContain(queue);
      await a.flow.setQueuePaused(queue, false);
      expect(await b.flow.pausedQueues()).not.toContain(queue);
      await waitFor(() => heard.length === 2, { timeoutMs: 5000, what: 'both changes heard' });
      expect(heard).toEqual([
        [queue, true],
        [queue, false],
      ]);
      await stop();
    });

    it('indexes tasks newest first, filters them, and keeps only the latest max', async () => {
      const s = await store(5);
      const base = Date.now();
      const run = randomUUID();
      const entry = (i: number, state: string): TaskSummary => ({
        id: `${run}-${i}`,
        name: i % 2 ? 'odd' : 'even',
        queue: run,
        state,
        at: base + i,
        worker: 'w',
      });
      await s.index.indexTasks(Array.from({ length: 8 }, (_, i) => entry(i, i < 6 ? 'SUCCESS' : 'FAILURE')));
      const all = await s.index.listTasks({ queue: run, limit: 100 });
      expect(all.map((t) => t.id)).toEqual([7, 6, 5, 4, 3].map((i) => `${run}-${i}`));
      expect((await s.index.listTasks({ queue: run, state: 'FAILURE' })).map((t) => t.id)).toEqual([
        `${run}-7`,
        `${run}-6`,
      ]);
      expect((await s.index.listTasks({ queue: run, name: 'odd', limit: 1 })).map((t) => t.id)).toEqual([
        `${run}-7`,
      ]);
      expect(await s.index.listTasks({ queue: run, since: base + 6 })).toHaveLength(2);
      // A task recorded again moves to the front with its new state.
      await s.index.indexTasks([entry(3, 'REVOKED')].map((e) => ({ ...e, at: base + 100 })));
      expect((await s.index.listTasks({ queue: run, limit: 1 }))[0]).toMatchObject({
        id: `${run}-3`,
        state: 'REVOKED',
      });
    });
  });
}

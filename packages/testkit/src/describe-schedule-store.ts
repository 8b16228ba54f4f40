import { type Broker, MemoryBroker } from '@celeriac/core';
import type { ScheduleSpec, ScheduleStore } from '@celeriac/core/adapter';
import { type ClientInterceptor, createClient, createScheduler, tickTaskId } from '@celeriac/core/producer';
import { afterEach, describe, expect, it } from 'vitest';
import { uniqueName, waitFor } from './wait-for.js';

/** How a schedule store plugs into {@link describeScheduleStore}. */
export interface ScheduleStoreSuiteOptions<S extends ScheduleStore = ScheduleStore> {
  /** A store; every call of a test must share the same schedules (e.g. one Redis). */
  readonly create: () => S | Promise<S>;
  /** Closes what `create` opened. */
  readonly close?: (store: S) => Promise<void>;
}

const PERIOD_MS = 100;

function spec(id: string, overrides: Partial<ScheduleSpec> = {}): ScheduleSpec {
  return {
    id,
    everyMs: PERIOD_MS,
    timezone: 'UTC',
    task: 'testkit.tick',
    args: [],
    kwargs: { id },
    options: { queue: `${id}-q` },
    catchUp: 'all',
    ...overrides,
  };
}

/** Maps the task ids of a schedule's ticks back to their tick times, over a window of time. */
function tickIndex(id: string, from: number, to: number): Map<string, number> {
  const index = new Map<string, number>();
  for (let t = Math.floor(from / PERIOD_MS) * PERIOD_MS; t <= to + PERIOD_MS; t += PERIOD_MS)
    index.set(tickTaskId(id, new Date(t)), t);
  return index;
}

/**
 * The conformance suite of a {@link ScheduleStore}: atomic tick claims, revisions, versions, and
 * two schedulers sharing the store with schedules added and removed at runtime, each tick enqueued
 * once.
 *
 * @example
 * ```ts
 * describeScheduleStore('redis', { create: () => new RedisResultBackend({ url }), close: (b) => b.close() });
 * ```
 */
export function describeScheduleStore<S extends ScheduleStore>(
  name: string,
  options: ScheduleStoreSuiteOptions<S>,
): void {
  describe(`schedule store: ${name}`, () => {
    const opened: S[] = [];
    const open = async () => {
      const store = await options.create();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => options.close?.(s)));
    });

    it('claims each tick once, refuses a stale revision, and keeps the last tick across upserts', async () => {
      const store = await open();
      const id = uniqueName('sched');
      const created = await store.upsertSchedule(spec(id), 1_000);
      expect(created.lastTickAt).toBe(1_000);
      expect(await store.claimTick(id, created.revision, 1_000)).toEqual({ claimed: false, stale: false });
      expect(await store.claimTick(id, created.revision, 1_100)).toEqual({ claimed: true, previous: 1_000 });
      expect(await store.claimTick(id, created.revision, 1_100)).toEqual({ claimed: false, stale: false });
      const changed = await store.upsertSchedule(spec(id, { catchUp: 'one' }), 5_000);
      expect(changed.revision).not.toBe(created.revision);
      expect(changed.lastTickAt).toBe(1_100);
      expect(await store.claimTick(id, created.revision, 1_200)).toEqual({ claimed: false, stale: true });
      expect(await store.claimTick(id, changed.revision, 1_300)).toEqual({ claimed: true, previous: 1_100 });
      const before = await store.schedulesVersion();
      expect(await store.removeSchedule(id)).toBe(true);
      expect(await store.removeSchedule(id)).toBe(false);
      expect(await store.schedulesVersion()).not.toBe(before);
      expect(await store.claimTick(id, changed.revision, 1_400)).toEqual({ claimed: false, stale: true });
    });

    it('lists what was stored, as it was stored, with the version of the set', async () => {
      const store = await open();
      const id = uniqueName('sched');
      const s = spec(id, {
        everyMs: undefined,
        cron: '0 9 * * *',
        timezone: 'America/New_York',
        args: [1, 'two'],
        kwargs: { nested: { list: [1, 2] } },
        options: { queue: 'q', priority: 7, headers: { 'x-a': 'b' } },
      });
      delete (s as { everyMs?: number }).everyMs;
      const saved = await store.upsertSchedule(s, 42);
      const listed = await store.listSchedules();
      expect(listed.version).toBe(await store.schedulesVersion());
      expect(listed.schedules.find((x) => x.id === id)).toEqual({
        ...s,
        revision: saved.revision,
        lastTickAt: 42,
      });
      await store.removeSchedule(id);
    });

    it('two schedulers, schedules added and removed at runtime: every tick of each enqueued once', async () => {
      const [storeA, storeB] = [await open(), await open()];
      const broker: Broker = new MemoryBroker();
      const sent: string[] = [];
      const record: ClientInterceptor = {
        publish(out, next) {
          sent.push(out.message.headers.id);
          return next(out);
        },
      };
      const client = createClient({ broker, interceptors: [record] });
      const errors: unknown[] = [];
      const make = (store: S) =>
        createScheduler({ client, store, refreshMs: 50, onError: (e) => errors.push(e) });
      const a = make(storeA);
      const b = make(storeB);
      const [kept, gone, added] = ['kept', 'gone', 'added'].map((n) => uniqueName(n)) as [
        string,
        string,
        string,
      ];
      const started = Date.now();
      await a.upsert({ id: kept, everyMs: PERIOD_MS, task: 'testkit.tick', catchUp: 'all' });
      await a.upsert({ id: gone, everyMs: PERIOD_MS, task: 'testkit.tick', catchUp: 'all' });
      await Promise.all([a.start(), b.start()]);
      const ticksOf = (id: string) => {
        const index = tickIndex(id, started - PERIOD_MS, Date.now());
        return sent.filter((taskId) => index.has(taskId)).map((taskId) => index.get(taskId) as number);
      };
      try {
        await waitFor(() => ticksOf(kept).length >= 4, { timeoutMs: 20_000, what: 'four ticks' });
        const addedAt = Date.now();
        await b.upsert({ id: added, everyMs: PERIOD_MS, task: 'testkit.tick', catchUp: 'all' });
        await b.remove(gone);
        const removedAt = Date.now();
        await waitFor(() => ticksOf(kept).length >= 10 && ticksOf(added).length >= 4, {
          timeoutMs: 20_000,
          what: 'ten ticks of the kept schedule, four of the added one',
        });
        a.stop();
        b.stop();
        expect(errors).toEqual([]);
        for (const id of [kept, gone, added]) {
          const ticks = ticksOf(id);
          // Once each: no tick twice, and none lost in between (catchUp 'all' fills any late wake).
          expect(new Set(ticks).size).toBe(ticks.length);
          const sorted = [...ticks].sort((x, y) => x - y);
          for (let i = 1; i < sorted.length; i++)
            expect(sorted[i]).toBe((sorted[i - 1] as number) + PERIOD_MS);
        }
        // The removed schedule claimed nothing after its removal; the added one nothing before it.
        expect(ticksOf(gone).length).toBeGreaterThan(0);
        for (const t of ticksOf(gone)) expect(t).toBeLessThanOrEqual(removedAt);
        for (const t of ticksOf(added)) expect(t).toBeGreaterThan(addedAt);
        expect(
          (await a.list())
            .map((s) => s.id)
            .filter((id) => [kept, gone, added].includes(id))
            .sort(),
        ).toEqual([added, kept].sort());
      } finally {
        a.stop();
        b.stop();
        await a.remove(kept).catch(() => {});
        await a.remove(added).catch(() => {});
        await broker.close();
      }
    });
  });
}

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import {
  type ClientInterceptor,
  createClient,
  createScheduler,
  type Scheduler,
  tickTaskId,
} from '../src/producer/index.js';

const ping = defineTask({
  name: 'unit.ping',
  input: z.object({ n: z.number() }),
  output: z.number(),
  defaults: { queue: 'sched' },
});

/** A client that remembers what it published, and when (the fake clock's time). */
function recordingClient() {
  const sent: { id: string; task: string; queue: string; at: number; kwargs: unknown }[] = [];
  const record: ClientInterceptor = {
    publish(out, next) {
      const { headers, body } = out.message;
      sent.push({ id: headers.id, task: headers.task, queue: out.queue, at: Date.now(), kwargs: body[1] });
      return next(out);
    },
  };
  return { sent, client: createClient({ broker: new MemoryBroker(), interceptors: [record] }) };
}

const iso = (ms: number) => new Date(ms).toISOString();
const schedulers: Scheduler[] = [];

describe('scheduler, on a fake clock', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    for (const s of schedulers.splice(0)) s.stop();
    vi.useRealTimers();
  });

  it('enqueues each tick of a schedule fixed in code once although three schedulers run', async () => {
    vi.setSystemTime(new Date('2026-01-01T00:00:00.500Z'));
    const backend = new MemoryResultBackend();
    const { sent, client } = recordingClient();
    for (let i = 0; i < 3; i++) {
      const s = createScheduler({
        client,
        lock: backend,
        schedules: [{ name: 'every-second', cron: '* * * * * *', task: ping, input: { n: 1 } }],
      });
      schedulers.push(s);
      await s.start();
    }
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sent.map((s) => iso(s.at))).toEqual(
      Array.from({ length: 10 }, (_, i) => iso(Date.parse('2026-01-01T00:00:01Z') + i * 1000)),
    );
    expect(sent.map((s) => s.id)).toEqual(sent.map((s) => tickTaskId('every-second', new Date(s.at))));
  });

  it('follows a schedule time zone across daylight saving changes, both ways', async () => {
    vi.setSystemTime(new Date('2026-03-06T12:00:00Z'));
    const backend = new MemoryResultBackend();
    const { sent, client } = recordingClient();
    const scheduler = createScheduler({ client, store: backend, refreshMs: 3_600_000 });
    schedulers.push(scheduler);
    await scheduler.start();
    await scheduler.upsert({
      id: 'standup',
      cron: '0 9 * * *',
      timezone: 'America/New_York',
      task: ping,
      input: { n: 1 },
    });
    await vi.advanceTimersByTimeAsync(4 * 86_400_000);
    // 9:00 in New York is 14:00 UTC until 8 March 2026 (EST), then 13:00 UTC (EDT).
    expect(sent.map((s) => iso(s.at))).toEqual([
      '2026-03-06T14:00:00.000Z',
      '2026-03-07T14:00:00.000Z',
      '2026-03-08T13:00:00.000Z',
      '2026-03-09T13:00:00.000Z',
    ]);
    expect(sent.map((s) => s.id)).toEqual(sent.map((s) => tickTaskId('standup', new Date(s.at))));
    expect(sent.every((s) => s.task === 'unit.ping' && s.queue === 'sched')).toBe(true);

    // Back to standard time on 1 November: 1:30 happens twice that night, and fires once.
    sent.length = 0;
    vi.setSystemTime(new Date('2026-10-31T12:00:00Z'));
    await scheduler.upsert({
      id: 'standup',
      cron: '30 1 * * *',
      timezone: 'America/New_York',
      task: ping,
      input: { n: 2 },
    });
    await vi.advanceTimersByTimeAsync(2 * 86_400_000);
    expect(sent.map((s) => iso(s.at))).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
    expect(sent.every((s) => (s.kwargs as { n: number }).n === 2)).toBe(true);
  });

  it('catches up ticks missed while no scheduler ran: skip them, the latest one, or all', async () => {
    const now = Date.parse('2026-01-01T00:00:30Z');
    vi.setSystemTime(now);
    const backend = new MemoryResultBackend();
    // Stored ten and a half minutes ago, when no scheduler was running.
    for (const catchUp of ['skip', 'one', 'all'] as const)
      await backend.upsertSchedule(
        {
          id: catchUp,
          everyMs: 60_000,
          timezone: 'UTC',
          task: 'unit.ping',
          args: [],
          kwargs: { n: 1 },
          options: {},
          catchUp,
        },
        now - 630_000,
      );
    const { sent, client } = recordingClient();
    const scheduler = createScheduler({ client, store: backend, lateAfterMs: 10_000 });
    schedulers.push(scheduler);
    await scheduler.start();
    await vi.advanceTimersByTimeAsync(0);
    const ticksOf = (id: string) =>
      sent
        .filter((s) =>
          Array.from({ length: 12 }, (_, i) =>
            tickTaskId(id, new Date(now - 30_000 - 600_000 + i * 60_000)),
          ).includes(s.id),
        )
        .map((s) => s.id);
    const tick = (id: string, at: string) => tickTaskId(id, new Date(at));
    expect(ticksOf('skip')).toEqual([]);
    expect(ticksOf('one')).toEqual([tick('one', '2026-01-01T00:00:00Z')]);
    expect(ticksOf('all')).toEqual(
      Array.from({ length: 10 }, (_, i) =>
        tickTaskId('all', new Date(Date.parse('2025-12-31T23:51:00Z') + i * 60_000)),
      ),
    );
    // From then on every schedule fires on time.
    await vi.advanceTimersByTimeAsync(30_000);
    for (const id of ['skip', 'one', 'all'])
      expect(sent.filter((s) => s.id === tick(id, '2026-01-01T00:01:00Z'))).toHaveLength(1);
  });

  it('lists stored schedules with their next tick, and stops firing one once removed', async () => {
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    const backend = new MemoryResultBackend();
    const { sent, client } = recordingClient();
    const scheduler = createScheduler({ client, store: backend });
    schedulers.push(scheduler);
    await scheduler.start();
    await scheduler.upsert({ id: 'five', everyMs: 5_000, task: ping, input: { n: 5 } });
    await scheduler.upsert({ id: 'py', cron: '0 * * * *', task: 'py.report', input: { args: [1] } });
    expect((await scheduler.list()).map((s) => [s.id, s.task, s.nextTickAt?.toISOString()])).toEqual([
      ['five', 'unit.ping', '2026-01-01T00:00:05.000Z'],
      ['py', 'py.report', '2026-01-01T01:00:00.000Z'],
    ]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sent.map((s) => s.task)).toEqual(['unit.ping', 'unit.ping']);
    expect(await scheduler.remove('five')).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sent).toHaveLength(2);
    expect((await scheduler.list()).map((s) => s.id)).toEqual(['py']);
  });
});

describe('scheduler definitions', () => {
  it('derives a stable id per tick', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    expect(tickTaskId('a', at)).toBe(tickTaskId('a', at));
    expect(tickTaskId('a', at)).not.toBe(tickTaskId('b', at));
    expect(tickTaskId('a', at)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('rejects an invalid cron pattern with a ConfigError', () => {
    const s = createScheduler({
      client: createClient({ broker: new MemoryBroker() }),
      lock: new MemoryResultBackend(),
      schedules: [{ name: 'bad', cron: 'not a cron', task: ping, input: { n: 1 } }],
    });
    expect(() => s.start()).toThrow(/CONFIG_INVALID.*invalid cron/);
  });

  it('refuses a stored schedule with bad input, a bad pattern or time zone, or both cron and everyMs', async () => {
    const scheduler = createScheduler({
      client: createClient({ broker: new MemoryBroker() }),
      store: new MemoryResultBackend(),
    });
    // @ts-expect-error n must be a number
    await expect(scheduler.upsert({ id: 'a', everyMs: 1000, task: ping, input: { n: 'x' } })).rejects.toThrow(
      /VALIDATION_FAILED/,
    );
    await expect(scheduler.upsert({ id: 'b', cron: 'nope', task: ping, input: { n: 1 } })).rejects.toThrow(
      /CONFIG_INVALID/,
    );
    await expect(
      scheduler.upsert({ id: 'c', cron: '* * * * *', timezone: 'Mars/Olympus', task: ping, input: { n: 1 } }),
    ).rejects.toThrow(/CONFIG_INVALID/);
    await expect(
      // @ts-expect-error exactly one of cron and everyMs
      scheduler.upsert({ id: 'd', cron: '* * * * *', everyMs: 5, task: ping, input: { n: 1 } }),
    ).rejects.toThrow(/CONFIG_INVALID/);
    expect(await scheduler.list()).toEqual([]);
  });

  it('needs a store to manage schedules at runtime', async () => {
    const scheduler = createScheduler({ client: createClient({ broker: new MemoryBroker() }) });
    await expect(scheduler.list()).rejects.toThrow(/no store/);
  });
});

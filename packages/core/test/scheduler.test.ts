import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import { createClient, createScheduler, tickTaskId } from '../src/producer/index.js';
import { createWorker, implement } from '../src/worker/index.js';

const ping = defineTask({
  name: 'unit.ping',
  input: z.object({ n: z.number() }),
  output: z.number(),
  defaults: { queue: 'sched' },
});

describe('scheduler', () => {
  it('enqueues each tick once although three schedulers run, and the worker runs it', async () => {
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const ran: string[] = [];
    const worker = createWorker({
      broker,
      backend,
      tasks: [
        implement(ping, ({ n }, ctx) => {
          ran.push(ctx.id);
          return n;
        }),
      ],
    });
    await worker.start();
    const schedulers = [1, 2, 3].map(() =>
      createScheduler({
        client: createClient({ broker, backend }),
        lock: backend,
        schedules: [{ name: 'every-second', cron: '* * * * * *', task: ping, input: { n: 1 } }],
      }),
    );
    for (const s of schedulers) s.start();
    await new Promise((r) => setTimeout(r, 3_300));
    for (const s of schedulers) s.stop();
    await new Promise((r) => setTimeout(r, 200));
    await worker.stop({ graceMs: 500 });
    expect(ran.length).toBeGreaterThanOrEqual(3);
    expect(ran.length).toBeLessThanOrEqual(4);
    expect(new Set(ran).size).toBe(ran.length);
  });

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
});

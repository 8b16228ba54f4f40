import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import { createClient } from '../src/producer/index.js';
import {
  type CeleryEvent,
  createWorker,
  type EventTransport,
  implement,
  sendCeleryEvents,
} from '../src/worker/index.js';

const add = defineTask({
  name: 'unit.add',
  input: z.object({ x: z.number(), y: z.number() }),
  output: z.number(),
  defaults: { queue: 'ev' },
});

describe('Celery events', () => {
  it('sends worker and task events in the format monitors read', async () => {
    const sent: { key: string; event: CeleryEvent }[] = [];
    const transport: EventTransport = {
      publishEvent: async (key, body) => {
        for (const event of Array.isArray(body) ? body : [body]) sent.push({ key, event });
      },
      close: async () => {},
    };
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const worker = createWorker({
      broker,
      backend,
      tasks: [implement(add, ({ x, y }) => x + y)],
      hostname: 'w1@host',
    });
    await worker.start();
    const stop = sendCeleryEvents(worker, transport, { freq: 0.1 });
    const handle = await createClient({ broker, backend }).enqueue(add, { x: 2, y: 3 });
    await handle.result({ timeoutMs: 5_000 });
    await new Promise((r) => setTimeout(r, 250));
    await stop();
    await worker.stop();

    const types = sent.map((s) => s.event.type);
    expect(types[0]).toBe('worker-online');
    expect(types.at(-1)).toBe('worker-offline');
    expect(types.filter((t) => t === 'worker-heartbeat').length).toBeGreaterThanOrEqual(1);
    expect(types.filter((t) => t.startsWith('task-'))).toEqual([
      'task-received',
      'task-started',
      'task-succeeded',
    ]);
    const received = sent.find((s) => s.event.type === 'task-received');
    expect(received?.key).toBe('task.received');
    expect(received?.event).toMatchObject({
      uuid: handle.id,
      name: 'unit.add',
      queue: 'ev',
      kwargs: '{"x":2,"y":3}',
      hostname: 'w1@host',
      retries: 0,
    });
    const succeeded = sent.find((s) => s.event.type === 'task-succeeded')?.event;
    expect(succeeded).toMatchObject({ result: '5' });
    expect(typeof succeeded?.runtime).toBe('number');
    const heartbeat = sent.find((s) => s.event.type === 'worker-heartbeat')?.event;
    expect(heartbeat).toMatchObject({
      freq: 0.1,
      sw_ident: 'celeriac',
      sw_sys: 'Linux',
      pid: process.pid,
      concurrency: 10,
    });
    // Seconds, not milliseconds; the clock only grows.
    expect(Math.abs((heartbeat?.timestamp ?? 0) - Date.now() / 1000)).toBeLessThan(5);
    const clocks = sent.map((s) => s.event.clock);
    expect([...clocks].sort((a, b) => a - b)).toEqual(clocks);
  });
});

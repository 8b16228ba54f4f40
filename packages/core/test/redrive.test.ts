import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import { createClient, deadLetterTask, redriveDeadLetters } from '../src/producer/index.js';
import { createWorker, implement, type Worker } from '../src/worker/index.js';

const double = defineTask({
  name: 'unit.double',
  input: z.object({ n: z.number() }),
  output: z.number(),
  defaults: { queue: 'redrive' },
});
const other = defineTask({
  name: 'unit.other',
  input: z.number(),
  output: z.number(),
  defaults: { queue: 'redrive' },
});

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 100 })));
});

describe('redriving dead letters', () => {
  it('runs a rejected task again: the FAILURE stored at rejection is cleared first', async () => {
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const client = createClient({ broker, backend });
    // A worker that does not implement the task rejects it: FAILURE stored, message dead-lettered.
    const first = createWorker({ broker, backend, tasks: [implement(other, (n) => n)], queues: ['redrive'] });
    workers.push(first);
    await first.start();
    const handle = await client.enqueue(double, { n: 21 });
    await expect(handle.result({ timeoutMs: 5_000 })).rejects.toThrow(/NotRegistered/);
    const letters = await broker.readDeadLetters('redrive');
    expect(letters.map((l) => deadLetterTask(l).id)).toEqual([handle.id]);
    await first.stop();

    // Deployed with the task now: a redrive makes it run.
    const second = createWorker({ broker, backend, tasks: [implement(double, ({ n }) => n * 2)] });
    workers.push(second);
    await second.start();
    expect(await redriveDeadLetters(broker, backend, 'redrive')).toEqual({ moved: 1, cleared: 1 });
    expect(await client.enqueue(double, { n: 1 }).then((h) => h.result({ timeoutMs: 5_000 }))).toBe(2);
    const meta = await backend.wait(handle.id, { timeoutMs: 5_000 });
    expect(meta.status).toBe('SUCCESS');
    expect(meta.result).toBe(42);
  });

  it('reads the task of a dead letter from JSON and from text that is not JSON', () => {
    expect(deadLetterTask({ raw: '{"headers":{"id":"a1","task":"t.x"}}' })).toEqual({
      id: 'a1',
      name: 't.x',
    });
    expect(deadLetterTask({ raw: 'garbage "id": "b2", "task": "t.y" cut' })).toEqual({
      id: 'b2',
      name: 't.y',
    });
    expect(deadLetterTask({ raw: '\u0000\u0001' })).toEqual({ id: null, name: null });
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import { createClient, signature } from '../src/producer/index.js';
import { createWorker, implement, type Worker } from '../src/worker/index.js';

// The producer's view: `canvas.count` returns a number. The worker in this test runs a different
// version of the task that returns a string, as a Python task or a stale deployment might.
const count = defineTask({ name: 'canvas.count', input: z.number(), output: z.number() });
const countSays = defineTask({ name: 'canvas.count', input: z.number(), output: z.string() });
const sum = defineTask({ name: 'canvas.sum', input: z.array(z.number()), output: z.number() });
const sumSays = defineTask({ name: 'canvas.sum', input: z.array(z.unknown()), output: z.string() });

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 100 })));
});

async function setup() {
  const broker = new MemoryBroker();
  const backend = new MemoryResultBackend();
  const worker = createWorker({
    broker,
    backend,
    tasks: [implement(countSays, () => 'hello'), implement(sumSays, () => 'hello')],
  });
  workers.push(worker);
  await worker.start();
  return createClient({ broker, backend });
}

describe('canvas handles validate the final value against the last contract', () => {
  it('a chain handle typed number rejects a "hello" with ValidationError', async () => {
    const client = await setup();
    const handle = await client.chain([signature(count, 1), signature(count, 2, { immutable: true })]);
    await expect(handle.result({ timeoutMs: 5_000 })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      side: 'output',
      taskName: 'canvas.count',
    });
  });

  it('each group member handle validates against its own contract', async () => {
    const client = await setup();
    const [typed, untyped] = await client.group([
      signature(count, 1),
      { task: 'canvas.count', args: [2], kwargs: {}, options: {}, subtask_type: null, immutable: false },
    ]);
    await expect(typed.result({ timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    // Made without a contract: nothing to validate against, the value comes back as it is.
    expect(await untyped.result({ timeoutMs: 5_000 })).toBe('hello');
  });

  it("a chord handle validates against the body's contract", async () => {
    const client = await setup();
    const handle = await client.chord([signature(count, 1), signature(count, 2)], signature(sum));
    await expect(handle.result({ timeoutMs: 5_000 })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      taskName: 'canvas.sum',
    });
  });
});

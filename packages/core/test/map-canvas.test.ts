import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import { chunks, createClient, xmap, xstarmap } from '../src/producer/index.js';
import { createWorker, implement, type Worker } from '../src/worker/index.js';

const square = defineTask({
  name: 'map.square',
  input: z.number(),
  output: z.number(),
  defaults: { queue: 'maps' },
});
const add = defineTask({
  name: 'map.add',
  input: z.object({ x: z.number(), y: z.number() }),
  output: z.number(),
  defaults: { queue: 'maps' },
});

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 100 })));
});

async function setup() {
  const broker = new MemoryBroker();
  const backend = new MemoryResultBackend();
  const calls: number[] = [];
  const worker = createWorker({
    broker,
    backend,
    queues: ['maps'],
    tasks: [
      implement(square, (n) => {
        calls.push(n);
        return n * n;
      }),
      implement(add, ({ x, y }) => x + y),
    ],
  });
  workers.push(worker);
  await worker.start();
  return { client: createClient({ broker, backend }), backend, calls, worker };
}

const sig = (task: string) => ({
  task,
  args: [],
  kwargs: {},
  options: {},
  subtask_type: null,
  immutable: false,
});

describe("Celery's map, starmap and chunks", () => {
  it('xmap runs the task once per item in one message and returns the typed list', async () => {
    const { client, calls } = await setup();
    const handle = await xmap(client, square, [1, 2, 3]);
    expect(handle.name).toBe('celery.map');
    const values: number[] = await handle.result({ timeoutMs: 5_000 });
    expect(values).toEqual([1, 4, 9]);
    expect(calls).toEqual([1, 2, 3]);
  });

  it('xstarmap spreads each item as positional arguments, filling an object input in key order', async () => {
    const { client } = await setup();
    const handle = await xstarmap(client, add, [
      [1, 2],
      [30, 4],
    ]);
    expect(await handle.result({ timeoutMs: 5_000 })).toEqual([3, 34]);
  });

  it('chunks splits the items over a group of starmap tasks', async () => {
    const { client } = await setup();
    const items = Array.from({ length: 7 }, (_, i) => [i, 100]);
    const parts = await chunks(client, add, items, 3);
    expect(parts).toHaveLength(3);
    const values = await Promise.all(parts.map((p) => p.result({ timeoutMs: 5_000 })));
    expect(values).toEqual([[100, 101, 102], [103, 104, 105], [106]]);
  });

  it('validates every item before publishing anything', async () => {
    const { client, calls } = await setup();
    // @ts-expect-error square takes numbers
    await expect(xmap(client, square, [1, 'two'])).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(xstarmap(client, add, [[1, 'x']])).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(calls).toEqual([]);
  });

  it('runs the messages a Python producer sends: celery.map, celery.starmap and celery.chunks', async () => {
    const { client, backend } = await setup();
    const mapped = await client.send(
      'celery.map',
      { kwargs: { task: sig('map.square'), it: [4, 5] } },
      { queue: 'maps' },
    );
    expect(await mapped.result({ timeoutMs: 5_000 })).toEqual([16, 25]);
    // Positional, as `xstarmap(...).delay()` may send it: (task, it).
    const starred = await client.send(
      'celery.starmap',
      {
        args: [
          sig('map.add'),
          [
            [1, 1],
            [2, 2],
          ],
        ],
      },
      { queue: 'maps' },
    );
    expect(await starred.result({ timeoutMs: 5_000 })).toEqual([2, 4]);
    // `celery.chunks` arrives as a task when chunks is a step of a canvas: it publishes the group.
    const chunked = await client.send(
      'celery.chunks',
      {
        kwargs: {
          task: sig('map.add'),
          it: [
            [1, 2],
            [3, 4],
            [5, 6],
          ],
          n: 2,
        },
      },
      { queue: 'maps' },
    );
    const tuple = (await chunked.result({ timeoutMs: 5_000 })) as [[string, null], [[string, null], null][]];
    const memberIds = tuple[1].map(([[id]]) => id);
    expect(memberIds).toHaveLength(2);
    const parts = await Promise.all(memberIds.map((id) => backend.wait(id, { timeoutMs: 5_000 })));
    expect(parts.map((p) => p.result)).toEqual([[3, 7], [11]]);
    expect(parts.every((p) => p.group_id === tuple[0][0])).toBe(true);
  });

  it('fails a map of a task this worker does not have, as Celery does', async () => {
    const { client } = await setup();
    const handle = await client.send(
      'celery.map',
      { kwargs: { task: sig('map.nope'), it: [1] } },
      { queue: 'maps' },
    );
    await expect(handle.result({ timeoutMs: 5_000 })).rejects.toMatchObject({
      remote: expect.objectContaining({ excMessage: expect.stringContaining('map.nope') }),
    });
  });
});

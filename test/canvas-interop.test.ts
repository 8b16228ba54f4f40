import { randomUUID } from 'node:crypto';
import { type AnySchema, defineTask, type ResultBackend } from '@celeriac/core';
import {
  type Client,
  chainSignature,
  chordSignature,
  type Signature,
  signature,
  workflow,
  xstarmap,
} from '@celeriac/core/producer';
import { implement } from '@celeriac/core/worker';
import { requireCelery, requireService } from '@celeriac/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InteropSides, parseChecks, runPython, startInterop } from './celery-driver.js';

const redisUrl = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const python = requireCelery();
const up = await requireService('redis', redisUrl);
const driver = { python, redisUrl };

/** Accepts anything, typed as T; `keys` lists an object input's keys in order, for positional calls. */
function trusted<T>(
  keys?: readonly string[],
): AnySchema & { '~standard': { types?: { input: T; output: T } } } {
  return {
    '~standard': { version: 1, vendor: 'test', validate: (value: unknown) => ({ value }) },
    ...(keys ? { shape: Object.fromEntries(keys.map((k) => [k, true])) } : {}),
  } as never;
}

describe.skipIf(!up || !python)('Celery canvases across Python and TypeScript, over Redis', () => {
  const tsQueue = `canvas-ts-${randomUUID().slice(0, 8)}`;
  const pyQueue = `canvas-py-${randomUUID().slice(0, 8)}`;
  const add = defineTask({
    name: 'ts.add',
    input: trusted<{ x: number; y: number }>(['x', 'y']),
    output: trusted<number>(),
    defaults: { queue: tsQueue },
  });
  const sum = defineTask({
    name: 'ts.sum',
    input: trusted<number[]>(),
    output: trusted<number>(),
    defaults: { queue: tsQueue },
  });
  const square = defineTask({
    name: 'ts.square',
    input: trusted<number>(),
    output: trusted<number>(),
    defaults: { queue: tsQueue },
  });
  const pyAdd = defineTask({
    name: 'py.add',
    input: trusted<{ x: number; y: number }>(['x', 'y']),
    output: trusted<number>(),
    defaults: { queue: pyQueue },
  });
  const sums: number[][] = [];
  let client: Client;
  let backend: ResultBackend;
  let sides: InteropSides | undefined;
  const py = (name: string, ...args: unknown[]): Signature => ({
    task: name,
    args,
    kwargs: {},
    options: { queue: pyQueue },
    subtask_type: null,
    immutable: false,
  });

  beforeAll(async () => {
    sides = await startInterop(driver, {
      tsQueue,
      pyQueue,
      concurrency: 8,
      pyConcurrency: 4,
      tasks: [
        implement(add, ({ x, y }) => x + y),
        implement(sum, (xs) => {
          sums.push(xs);
          return xs.reduce((a, b) => a + b, 0);
        }),
        implement(square, (n) => n * n),
      ],
    });
    ({ client, backend } = sides);
  }, 60_000);

  afterAll(async () => {
    await sides?.close();
  });

  it('Python-built canvases run on TypeScript workers: nested three deep, mixed chords (body once), map, chunks', async () => {
    const checks = parseChecks(await runPython(driver, ['py_canvas.py', tsQueue, pyQueue]));
    expect(checks.nested).toEqual({ check: 'nested', ok: true, value: 117 });
    expect(checks.group_of_chains).toMatchObject({ ok: true, value: [9, 23] });
    expect(checks.mixed_chord_ts_body).toMatchObject({ ok: true, value: 22 });
    expect(sums.filter((s) => JSON.stringify(s) === '[3,7,10,2]')).toHaveLength(1);
    expect(checks.mixed_chord_py_body).toMatchObject({ ok: true, value: 12 });
    expect(checks.map).toMatchObject({ ok: true, value: [1, 4, 9] });
    expect(checks.starmap).toMatchObject({ ok: true, value: [3, 7] });
    expect(checks.chunks).toMatchObject({ ok: true, value: [[3, 7], [11]] });
  }, 120_000);

  it('a TypeScript-built canvas nested three deep runs on Python workers', async () => {
    // add(1,1)=2 -> chord[chain(add(2,1)=3, add(3,2)=5), add(2,10)=12] -> tsum=17 -> add(17,100)=117
    const handle = await client.chain([
      py('py.add', 1, 1),
      chordSignature([chainSignature([py('py.add', 1), py('py.add', 2)]), py('py.add', 10)], py('py.tsum')),
      py('py.add', 100),
    ]);
    expect(await handle.result({ timeoutMs: 60_000 })).toBe(117);
  }, 90_000);

  it('a TypeScript-built chord mixing Python and TypeScript header tasks runs its body once', async () => {
    const handle = await client.chord(
      [
        py('py.add', 10, 20),
        signature(add, { x: 1, y: 2 }),
        py('py.add', 100, 200),
        signature(add, { x: 4, y: 5 }),
      ],
      signature(sum),
    );
    expect(await handle.result({ timeoutMs: 60_000 })).toBe(342);
    expect(sums.filter((s) => JSON.stringify(s) === '[30,3,300,9]')).toHaveLength(1);
    // And Python's starmap from TypeScript.
    const starred = await xstarmap(
      client,
      'py.add',
      [
        [1, 2],
        [3, 4],
      ],
      { queue: pyQueue },
    );
    expect(await starred.result({ timeoutMs: 30_000 })).toEqual([3, 7]);
  }, 90_000);

  it('a workflow Celery can express goes as one canvas: Python workers run it alone, no driver', async () => {
    const pyTsum = defineTask({
      name: 'py.tsum',
      input: trusted<number[]>(),
      output: trusted<number>(),
      defaults: { queue: pyQueue },
    });
    const wf = workflow({
      a: { task: pyAdd, input: { x: 1, y: 2 } },
      b: { task: pyAdd, after: ['a'], input: ({ a }) => ({ x: a, y: 10 }) },
      c: { task: pyAdd, after: ['a'], input: ({ a }) => ({ x: a, y: 20 }) },
      d: { task: pyTsum, after: ['b', 'c'], input: ({ b, c }) => [b, c] },
    });
    // The driver queue has no consumer here: only a canvas can finish.
    const run = await wf.start(client, { store: backend as never, mode: 'canvas', driverQueue: 'nobody' });
    expect(await run.result({ timeoutMs: 60_000 })).toEqual({ a: 3, b: 13, c: 23, d: 36 });
    expect((await run.status()).state).toBe('SUCCESS');
  }, 90_000);

  it('a typed workflow with a Python node: the Python worker calls the driver through link', async () => {
    const wf = workflow({
      a: { task: add, input: { x: 1, y: 2 } },
      b: { task: pyAdd, after: ['a'], input: ({ a }) => ({ x: a, y: 10 }) },
      c: { task: sum, after: ['a', 'b'], input: ({ a, b }) => [a, b] },
    });
    const run = await wf.start(client, { store: backend as never, driverQueue: tsQueue });
    expect(await run.result({ timeoutMs: 60_000 })).toEqual({ a: 3, b: 13, c: 16 });
  }, 90_000);
});

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import { createClient, step, workflow } from '../src/producer/index.js';
import { compileWorkflow } from '../src/producer/workflow/compile.js';
import { createWorker, implement } from '../src/worker/index.js';
import { REF_KEY } from '../src/workflow/template.js';

const text = defineTask({ name: 'w.text', input: z.object({ text: z.string() }), output: z.string() });
const pair = defineTask({
  name: 'w.pair',
  input: z.object({ a: z.string(), b: z.array(z.string()) }),
  output: z.string(),
});

describe('workflow definitions', () => {
  it('captures inputs once, with references where upstream results are placed', () => {
    const wf = workflow({
      one: step(text, { text: 'x' }),
      two: step(text, { text: 'y' }),
      both: { task: pair, after: ['one', 'two'], input: ({ one, two }) => ({ a: one, b: [two, 'fixed'] }) },
    });
    expect(wf.order.indexOf('both')).toBeGreaterThan(
      Math.max(wf.order.indexOf('one'), wf.order.indexOf('two')),
    );
    expect(wf.nodes.both.input).toEqual({ a: { [REF_KEY]: ['one'] }, b: [{ [REF_KEY]: ['two'] }, 'fixed'] });
  });

  it('refuses cycles, unknown nodes, reading a node not waited for, and computing with a result', () => {
    const untyped = workflow as (nodes: Record<string, unknown>) => unknown;
    expect(() =>
      untyped({
        a: { task: text, after: ['c'], input: { text: '' } },
        b: { task: text, after: ['a'], input: { text: '' } },
        c: { task: text, after: ['b'], input: { text: '' } },
      }),
    ).toThrow(/CONFIG_INVALID.*cycle: a → c → b → a/);
    expect(() => untyped({ a: { task: text, after: ['nope'], input: { text: '' } } })).toThrow(
      /nope, which is not a node/,
    );
    expect(() =>
      untyped({
        a: step(text, { text: '' }),
        b: step(text, { text: '' }),
        c: { task: text, after: ['a'], input: ({ b }: { b: string }) => ({ text: b }) },
      }),
    ).toThrow(/reads b, which is not in its after list/);
    expect(() =>
      workflow({
        a: step(text, { text: '' }),
        b: { task: text, after: ['a'], input: ({ a }) => ({ text: `${a}!` }) },
      }),
    ).toThrow(/placeholder for an upstream result/);
    expect(() =>
      workflow({
        a: step(pair, { a: '', b: [] }),
        b: { task: text, after: ['a'], input: ({ a }) => ({ text: a.toUpperCase() }) },
      }),
    ).toThrow(/CONFIG_INVALID/);
  });

  it('checks the fixed input of the first nodes before storing or sending anything', async () => {
    const store = new MemoryResultBackend();
    const wf = workflow({ a: step(text, { text: 1 as unknown as string }) });
    const client = { send: () => Promise.reject(new Error('nothing may be sent')) } as never;
    await expect(wf.start(client, { store, id: 'w-1' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(await store.getWorkflow('w-1')).toBeNull();
  });
});

describe('the memory workflow store', () => {
  it('records an outcome once and answers a repeated call as the first', async () => {
    const store = new MemoryResultBackend();
    await store.createWorkflow('w', '{}', [
      { name: 'a', after: [], onUpstreamFailure: 'fail' },
      { name: 'b', after: [], onUpstreamFailure: 'fail' },
      { name: 'c', after: ['a', 'b'], onUpstreamFailure: 'fail' },
      { name: 'd', after: ['c'], onUpstreamFailure: 'skip' },
    ]);
    expect(await store.completeWorkflowNode('w', 'a', 'SUCCESS', '1')).toEqual({
      recorded: true,
      ready: [],
      settled: [],
      finished: false,
    });
    const first = await store.completeWorkflowNode('w', 'b', 'SUCCESS', '2');
    expect(first).toEqual({ recorded: true, ready: ['c'], settled: [], finished: false });
    expect(await store.completeWorkflowNode('w', 'b', 'SUCCESS', '3')).toEqual({ ...first, recorded: false });
    expect(await store.completeWorkflowNode('w', 'c', 'FAILURE', '{}')).toEqual({
      recorded: true,
      ready: [],
      settled: [{ node: 'd', state: 'SKIPPED' }],
      finished: true,
    });
    expect((await store.getWorkflow('w'))?.nodes.b).toEqual({ state: 'SUCCESS', result: '2' });
    expect(await store.completeWorkflowNode('nope', 'a', 'SUCCESS', '1')).toBeNull();
  });
});

describe('workflows Celery can express', () => {
  const add = defineTask({
    name: 'w.add',
    input: z.object({ x: z.number(), y: z.number() }),
    output: z.number(),
  });
  const total = defineTask({ name: 'w.total', input: z.array(z.number()), output: z.number() });
  const diamond = workflow({
    a: step(add, { x: 1, y: 2 }),
    b: { task: add, after: ['a'], input: ({ a }) => ({ x: a, y: 10 }) },
    c: { task: add, after: ['a'], input: ({ a }) => ({ x: a, y: 20 }) },
    d: { task: total, after: ['b', 'c'], input: ({ b, c }) => [b, c] },
  });

  it('compile to chain(a, group(b, c), d) when every input takes its upstream results the Celery way', () => {
    const canvas = compileWorkflow('w', diamond.nodes, diamond.order);
    expect(canvas?.subtask_type).toBe('chain');
    const [a, fan, d] = (canvas?.kwargs.tasks ?? []) as {
      task: string;
      kwargs: unknown;
      subtask_type: string | null;
    }[];
    expect(a).toMatchObject({ task: 'w.add', kwargs: { x: 1, y: 2 } });
    expect(fan).toMatchObject({ subtask_type: 'group' });
    expect(d).toMatchObject({ task: 'w.total', kwargs: {} });
    // A path into a result, a skip policy, or a node skipping a layer: not a canvas.
    const path = workflow({
      a: step(add, { x: 1, y: 2 }),
      b: { task: total, after: ['a'], input: ({ a }) => [a, a] },
    });
    expect(compileWorkflow('w', path.nodes, path.order)).toBeUndefined();
    const skip = workflow(
      { a: step(add, { x: 1, y: 2 }), b: { task: add, after: ['a'], input: ({ a }) => ({ x: a, y: 1 }) } },
      { onUpstreamFailure: 'skip' },
    );
    expect(compileWorkflow('w', skip.nodes, skip.order)).toBeUndefined();
  });

  it('run as one canvas with no driver and no stored state, typed results from the node results', async () => {
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const worker = createWorker({
      broker,
      backend,
      tasks: [implement(add, ({ x, y }) => x + y), implement(total, (xs) => xs.reduce((p, q) => p + q, 0))],
    });
    await worker.start();
    try {
      const run = await diamond.start(createClient({ broker, backend }), { store: backend, mode: 'canvas' });
      expect(await run.result({ timeoutMs: 5_000 })).toEqual({ a: 3, b: 13, c: 23, d: 36 });
      expect(await run.status()).toEqual({
        state: 'SUCCESS',
        nodes: { a: 'SUCCESS', b: 'SUCCESS', c: 'SUCCESS', d: 'SUCCESS' },
      });
      expect(await backend.getWorkflow(run.id)).toBeNull();
      const notCanvas = workflow({
        a: step(add, { x: 1, y: 2 }),
        b: { task: total, after: ['a'], input: ({ a }) => [a, a] },
      });
      await expect(
        notCanvas.start(createClient({ broker, backend }), { store: backend, mode: 'canvas' }),
      ).rejects.toThrow(/not a Celery canvas/);
    } finally {
      await worker.stop({ graceMs: 100 });
    }
  });
});

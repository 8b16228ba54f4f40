import { defineTask, MemoryBroker, NonRetriableError, type ResultBackend } from '@celeriac/core';
import type { WorkflowStore } from '@celeriac/core/adapter';
import { type Client, createClient, type UpstreamFailure, workflow } from '@celeriac/core/producer';
import { createWorker, implement, type Worker } from '@celeriac/core/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sleep, uniqueName } from './wait-for.js';

/** How a result backend that keeps workflows plugs into {@link describeWorkflowStore}. */
export interface WorkflowStoreSuiteOptions<B extends ResultBackend & WorkflowStore> {
  readonly create: () => B | Promise<B>;
  /** Closes what `create` opened. */
  readonly close?: (backend: B) => Promise<void>;
}

function contracts(queue: string) {
  return {
    fetch: defineTask({
      name: 'wf.fetch',
      input: z.object({ url: z.string() }),
      output: z.object({ body: z.string(), size: z.number() }),
      defaults: { queue },
    }),
    upper: defineTask({
      name: 'wf.upper',
      input: z.object({ text: z.string() }),
      output: z.string(),
      defaults: { queue },
    }),
    length: defineTask({
      name: 'wf.length',
      input: z.object({ text: z.string() }),
      output: z.number(),
      defaults: { queue },
    }),
    merge: defineTask({
      name: 'wf.merge',
      input: z.object({ upper: z.string(), length: z.number(), tag: z.string() }),
      output: z.object({ summary: z.string() }),
      defaults: { queue },
    }),
    explode: defineTask({
      name: 'wf.explode',
      input: z.object({ why: z.string() }),
      output: z.string(),
      defaults: { queue },
    }),
  };
}

/**
 * The typed-DAG suite over a result backend that keeps workflows: fan-out and fan-in with typed
 * results, a failing branch under each policy, a repeated driver message, and a node whose
 * input is refused. Workers and the broker are in-memory; the workflow's state is in the backend.
 */
export function describeWorkflowStore<B extends ResultBackend & WorkflowStore>(
  name: string,
  options: WorkflowStoreSuiteOptions<B>,
): void {
  describe(`workflows: ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    async function setup() {
      const queue = uniqueName('wf');
      const c = contracts(queue);
      const calls = new Map<string, number>();
      const count = <T>(task: string, value: T): T => {
        calls.set(task, (calls.get(task) ?? 0) + 1);
        return value;
      };
      const backend = await options.create();
      const broker = new MemoryBroker();
      const worker: Worker = createWorker({
        broker,
        backend,
        queues: [queue],
        concurrency: 8,
        tasks: [
          implement(c.fetch, ({ url }) => count('fetch', { body: `page at ${url}`, size: url.length })),
          implement(c.upper, ({ text }) => count('upper', text.toUpperCase())),
          implement(c.length, ({ text }) => count('length', text.length)),
          implement(c.merge, ({ upper, length, tag }) =>
            count('merge', { summary: `${tag}: ${upper} (${length})` }),
          ),
          implement(c.explode, ({ why }) => {
            count('explode', why);
            throw new NonRetriableError(why);
          }),
        ],
      });
      // How many times each driver task was handed to the worker.
      const drivers = new Map<string, number>();
      worker.on('task-received', ({ name }) => {
        if (name.startsWith('celeriac.workflow.')) drivers.set(name, (drivers.get(name) ?? 0) + 1);
      });
      await worker.start();
      const client: Client = createClient({ broker, backend });
      cleanups.push(async () => {
        await worker.stop({ graceMs: 500 });
        await broker.close();
        await options.close?.(backend);
      });
      return { c, calls, backend, client, queue, drivers };
    }

    it('fans out and in, with typed results per node and each node run once', async () => {
      const { c, calls, backend, client, queue } = await setup();
      const wf = workflow({
        fetch: { task: c.fetch, input: { url: 'example.org' } },
        upper: { task: c.upper, after: ['fetch'], input: ({ fetch }) => ({ text: fetch.body }) },
        length: { task: c.length, after: ['fetch'], input: ({ fetch }) => ({ text: fetch.body }) },
        merge: {
          task: c.merge,
          after: ['upper', 'length'],
          input: ({ upper, length }) => ({ upper, length, tag: 'done' }),
        },
      });
      const run = await wf.start(client, { store: backend, driverQueue: queue });
      const results = await run.result({ timeoutMs: 15_000 });
      expect(results).toEqual({
        fetch: { body: 'page at example.org', size: 11 },
        upper: 'PAGE AT EXAMPLE.ORG',
        length: 19,
        merge: { summary: 'done: PAGE AT EXAMPLE.ORG (19)' },
      });
      const merged: { summary: string } = await run.nodes.merge.result({ timeoutMs: 1_000 });
      expect(merged.summary).toContain('done');
      expect(await run.status()).toEqual({
        state: 'SUCCESS',
        nodes: { fetch: 'SUCCESS', upper: 'SUCCESS', length: 'SUCCESS', merge: 'SUCCESS' },
      });
      expect(Object.fromEntries(calls)).toEqual({ fetch: 1, upper: 1, length: 1, merge: 1 });
    });

    for (const policy of ['fail', 'skip'] as const satisfies readonly UpstreamFailure[]) {
      it(`settles what follows a failed branch by policy: ${policy}`, async () => {
        const { c, calls, backend, client, queue } = await setup();
        const wf = workflow(
          {
            fetch: { task: c.fetch, input: { url: 'x' } },
            good: { task: c.upper, after: ['fetch'], input: ({ fetch }) => ({ text: fetch.body }) },
            bad: { task: c.explode, after: ['fetch'], input: { why: 'boom' } },
            join: {
              task: c.merge,
              after: ['good', 'bad'],
              input: ({ good }) => ({ upper: good, length: 0, tag: 'never' }),
            },
            // Its own policy: a dependency that did not succeed fails it, whatever the workflow's.
            tail: {
              task: c.length,
              after: ['join'],
              onUpstreamFailure: 'fail',
              input: ({ join }) => ({ text: join.summary }),
            },
          },
          { onUpstreamFailure: policy },
        );
        const run = await wf.start(client, { store: backend, driverQueue: queue });
        await expect(run.result({ timeoutMs: 15_000 })).rejects.toMatchObject({
          remote: expect.objectContaining({ excType: 'WorkflowFailed' }),
        });
        const joined = policy === 'skip' ? 'SKIPPED' : 'FAILURE';
        expect(await run.status()).toEqual({
          state: 'FAILURE',
          nodes: { fetch: 'SUCCESS', good: 'SUCCESS', bad: 'FAILURE', join: joined, tail: 'FAILURE' },
        });
        expect(await run.nodes.good.result({ timeoutMs: 1_000 })).toBe('PAGE AT X');
        await expect(run.nodes.join.result({ timeoutMs: 1_000 })).rejects.toMatchObject({
          remote: expect.objectContaining({
            state: policy === 'skip' ? 'REVOKED' : 'FAILURE',
            excType: policy === 'skip' ? 'TaskRevokedError' : 'UpstreamFailed',
          }),
        });
        await expect(run.nodes.tail.result({ timeoutMs: 1_000 })).rejects.toMatchObject({
          remote: expect.objectContaining({ excType: 'UpstreamFailed' }),
        });
        expect(calls.get('merge')).toBeUndefined();
        expect(calls.get('length')).toBeUndefined();
        expect(calls.get('explode')).toBe(1);
      });
    }

    it('changes nothing when a driver message comes again (a redelivery after a crash)', async () => {
      const { c, calls, backend, client, queue } = await setup();
      const wf = workflow({
        fetch: { task: c.fetch, input: { url: 'again' } },
        upper: { task: c.upper, after: ['fetch'], input: ({ fetch }) => ({ text: fetch.body }) },
      });
      const run = await wf.start(client, { store: backend, driverQueue: queue });
      const first = await run.result({ timeoutMs: 15_000 });
      const again = await backend.completeWorkflowNode(
        run.id,
        'fetch',
        'SUCCESS',
        '{"body":"other","size":0}',
      );
      expect(again).toEqual({ recorded: false, ready: [], settled: [], finished: true });
      // The same through a worker: a second driver message for a finished node publishes nothing.
      const replay = await client.send(
        'celeriac.workflow.advance',
        { args: [{ body: 'other', size: 0 }, run.id, 'fetch'] },
        { queue },
      );
      expect(await replay.result({ timeoutMs: 10_000 })).toMatchObject({ recorded: false, ready: [] });
      expect(await run.result({ timeoutMs: 1_000 })).toEqual(first);
      expect(Object.fromEntries(calls)).toEqual({ fetch: 1, upper: 1 });
    });

    it('fails a node whose placed input its contract refuses, and what follows it', async () => {
      const { c, backend, client, queue, drivers } = await setup();
      const wf = workflow({
        fetch: { task: c.fetch, input: { url: 'y' } },
        // `size` is a number: the worker refuses it as text, and tells the driver.
        length: {
          task: c.length,
          after: ['fetch'],
          input: ({ fetch }) => ({ text: fetch.size as unknown as string }),
        },
        upper: { task: c.upper, after: ['length'], input: { text: 'never' } },
      });
      const run = await wf.start(client, { store: backend, driverQueue: queue });
      await expect(run.result({ timeoutMs: 15_000 })).rejects.toMatchObject({
        remote: expect.objectContaining({ excType: 'WorkflowFailed' }),
      });
      expect((await run.status()).nodes).toEqual({ fetch: 'SUCCESS', length: 'FAILURE', upper: 'FAILURE' });
      await expect(run.nodes.length.result({ timeoutMs: 1_000 })).rejects.toMatchObject({
        remote: expect.objectContaining({ excType: 'ValidationError' }),
      });
      // The refused node tells its driver once: one message for its failure, one per success.
      await sleep(300);
      expect(Object.fromEntries(drivers)).toEqual({
        'celeriac.workflow.advance': 1,
        'celeriac.workflow.failed': 1,
      });
    });
  });
}

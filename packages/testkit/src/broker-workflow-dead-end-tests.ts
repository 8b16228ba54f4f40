import { MemoryResultBackend, RemoteTaskError } from '@celeriac/core';
import {
  type Client,
  createClient,
  createControlClient,
  MemoryControlBus,
  MemoryControlTransport,
  workflow,
} from '@celeriac/core/producer';
import { createWorker, type Worker } from '@celeriac/core/worker';
import { afterEach, expect, it } from 'vitest';
import type { BrokerSuiteContext } from './broker-context.js';
import { newProbe, runtimeContracts, runtimeImplementations } from './runtime-fixtures.js';
import { uniqueName, waitFor } from './wait-for.js';

/**
 * No dead ends in a typed DAG: when a node is revoked (before it runs, while it runs, with or
 * without terminate) or expires, the nodes after it and the workflow's own handle settle, REVOKED
 * or FAILURE with the cause, instead of staying PENDING. The workflow's state is in a memory
 * backend; the nodes and the driver tasks travel over the broker under test.
 */
export function workflowDeadEndTests(ctx: BrokerSuiteContext): void {
  const workers: Worker[] = [];
  afterEach(async () => {
    await Promise.allSettled(workers.splice(0).map((w) => w.stop({ graceMs: 500 })));
  });

  async function setup() {
    const queue = uniqueName('wfdead');
    const c = runtimeContracts(queue);
    const probe = newProbe();
    const backend = new MemoryResultBackend();
    const bus = new MemoryControlBus();
    const client: Client = createClient({ broker: await ctx.broker(), backend });
    const control = createControlClient(new MemoryControlTransport(bus), { timeoutMs: 1_000 });
    const worker = createWorker({
      broker: await ctx.broker(),
      backend,
      queues: [queue],
      tasks: runtimeImplementations(c, probe),
      control: new MemoryControlTransport(bus),
      concurrency: 4,
    });
    workers.push(worker);
    await worker.start();
    return { queue, c, probe, backend, client, control };
  }

  const resultMs = () => ctx.deliveryMs + 15_000;

  /** The remote error a handle settled with (never a timeout). */
  async function settledError(handle: { result(o: { timeoutMs: number }): Promise<unknown> }) {
    const error = await handle.result({ timeoutMs: resultMs() }).then(
      () => new Error('expected the handle to settle in REVOKED or FAILURE'),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RemoteTaskError);
    return (error as RemoteTaskError).remote;
  }

  /** root → after → tail, and a branch beside them that succeeds (`tail` waits on both). */
  function graph(
    c: ReturnType<typeof runtimeContracts>,
    root: { readonly task: typeof c.sleep; readonly input: { ms: number } },
  ) {
    return workflow({
      root,
      beside: { task: c.add, input: { x: 1, y: 1 } },
      after: { task: c.add, after: ['root'], input: ({ root }) => ({ x: root, y: 1 }) },
      tail: { task: c.total, after: ['after', 'beside'], input: ({ after, beside }) => [after, beside] },
    });
  }

  for (const policy of ['fail', 'skip'] as const) {
    it(`a node revoked before it runs settles what follows it and the workflow (policy ${policy})`, async () => {
      const { c, client, backend, probe, queue } = await setup();
      const wf = workflow(
        {
          first: { task: c.sleep, input: { ms: 1_000 } },
          revoked: { task: c.add, after: ['first'], input: ({ first }) => ({ x: first, y: 1 }) },
          next: { task: c.add, after: ['revoked'], input: ({ revoked }) => ({ x: revoked, y: 1 }) },
        },
        { onUpstreamFailure: policy },
      );
      const run = await wf.start(client, { store: backend, driverQueue: queue });
      // Published only once `first` succeeds: revoked while it waits in the graph.
      await run.nodes.revoked.revoke();
      const workflowError = await settledError(run);
      expect(workflowError.excType).toBe('WorkflowFailed');
      expect((await run.nodes.revoked.status()).state).toBe('REVOKED');
      const next = await settledError(run.nodes.next);
      expect(next.state).toBe(policy === 'skip' ? 'REVOKED' : 'FAILURE');
      expect(next.excMessage).toContain('revoked');
      expect(await run.status()).toEqual({
        state: 'FAILURE',
        nodes: { first: 'SUCCESS', revoked: 'FAILURE', next: policy === 'skip' ? 'SKIPPED' : 'FAILURE' },
      });
      expect(probe.calls.has(run.nodes.revoked.id)).toBe(false);
      expect(probe.calls.has(run.nodes.next.id)).toBe(false);
    });
  }

  it('a running node revoked with terminate settles what follows it and the workflow', async () => {
    const { c, client, backend, probe, queue, control } = await setup();
    const run = await graph(c, { task: c.sleep, input: { ms: 60_000 } }).start(client, {
      store: backend,
      driverQueue: queue,
    });
    const rootId = run.nodes.root.id;
    await waitFor(() => probe.started.includes(rootId), {
      what: 'the root node to start',
      timeoutMs: resultMs(),
    });
    await control.revoke(rootId, { terminate: true });
    expect((await settledError(run)).excType).toBe('WorkflowFailed');
    expect(await settledError(run.nodes.root)).toMatchObject({ state: 'REVOKED', excMessage: 'terminated' });
    const after = await settledError(run.nodes.after);
    expect(after).toMatchObject({ state: 'FAILURE', excType: 'UpstreamFailed' });
    expect(after.excMessage).toContain('terminated');
    expect((await settledError(run.nodes.tail)).excType).toBe('UpstreamFailed');
    expect((await run.status()).nodes).toEqual({
      root: 'FAILURE',
      beside: 'SUCCESS',
      after: 'FAILURE',
      tail: 'FAILURE',
    });
  });

  it('a running node revoked without terminate finishes, and so does the workflow', async () => {
    const { c, client, backend, probe, queue, control } = await setup();
    const run = await graph(c, { task: c.sleep, input: { ms: 1_500 } }).start(client, {
      store: backend,
      driverQueue: queue,
    });
    const rootId = run.nodes.root.id;
    await waitFor(() => probe.started.includes(rootId), {
      what: 'the root node to start',
      timeoutMs: resultMs(),
    });
    await control.revoke(rootId);
    // Without terminate a running handler runs on (as in Celery): its result counts, and the
    // workflow moves on to the end.
    expect(await run.result({ timeoutMs: resultMs() })).toEqual({
      root: 1_500,
      beside: 2,
      after: 1_501,
      tail: 1_503,
    });
    expect(await run.status()).toEqual({
      state: 'SUCCESS',
      nodes: { root: 'SUCCESS', beside: 'SUCCESS', after: 'SUCCESS', tail: 'SUCCESS' },
    });
  });

  it('an expired node settles what follows it and the workflow, naming the expiry', async () => {
    const { c, client, backend, queue } = await setup();
    // The root's message carries an `expires` already passed (as a producer setting one sends it).
    const past = new Date(Date.now() - 60_000);
    const expiring: Client = Object.create(client, {
      send: {
        value: (name: string, call: unknown, options: Record<string, unknown> = {}) =>
          client.send(name, call as never, name === c.sleep.name ? { ...options, expiresAt: past } : options),
      },
    });
    const run = await graph(c, { task: c.sleep, input: { ms: 1 } }).start(expiring, {
      store: backend,
      driverQueue: queue,
    });
    expect((await settledError(run)).excType).toBe('WorkflowFailed');
    expect(await settledError(run.nodes.root)).toMatchObject({ state: 'REVOKED', excMessage: 'expired' });
    const after = await settledError(run.nodes.after);
    expect(after.excMessage).toContain('expired');
    expect((await settledError(run.nodes.tail)).state).toBe('FAILURE');
    expect((await run.status()).nodes).toMatchObject({ root: 'FAILURE', beside: 'SUCCESS', tail: 'FAILURE' });
  });
}

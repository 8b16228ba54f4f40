import { randomUUID } from 'node:crypto';
import { MemoryResultBackend, RemoteTaskError, type TaskState } from '@celeriac/core';
import type { Signature } from '@celeriac/core/adapter';
import { createClient, signature } from '@celeriac/core/producer';
import { createWorker, type Worker } from '@celeriac/core/worker';
import { afterEach, expect, it } from 'vitest';
import type { BrokerSuiteContext } from './broker-context.js';
import { newProbe, runtimeContracts, runtimeImplementations } from './runtime-fixtures.js';
import { uniqueName, waitFor } from './wait-for.js';

/**
 * No dead ends in a canvas: when a step of a chain or a member of a chord is revoked, expires, is
 * rejected (invalid input, not registered) or fails, every handle downstream settles — REVOKED or
 * FAILURE, with the cause — instead of staying PENDING.
 */
export function deadEndTests(ctx: BrokerSuiteContext): void {
  const workers: Worker[] = [];
  afterEach(async () => {
    await Promise.allSettled(workers.splice(0).map((w) => w.stop({ graceMs: 500 })));
  });

  async function setup() {
    const queue = uniqueName('dead');
    const c = runtimeContracts(queue);
    const probe = newProbe();
    const backend = new MemoryResultBackend();
    const client = createClient({ broker: await ctx.broker(), backend });
    const worker = createWorker({
      broker: await ctx.broker(),
      backend,
      tasks: runtimeImplementations(c, probe),
      concurrency: 4,
    });
    workers.push(worker);
    await worker.start();
    return { queue, c, probe, backend, client };
  }

  const resultMs = () => ctx.deliveryMs + 10_000;

  /** The handle's final state and the remote error it settled with (never a timeout). */
  async function settled(handle: {
    result(o: { timeoutMs: number }): Promise<unknown>;
    status(): Promise<{ state: string }>;
  }): Promise<{ state: string; error: RemoteTaskError }> {
    const error = await handle.result({ timeoutMs: resultMs() }).then(
      () => new Error('expected the handle to settle in REVOKED or FAILURE'),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RemoteTaskError);
    return { state: (await handle.status()).state, error: error as RemoteTaskError };
  }

  const withOptions = (sig: Signature, options: Record<string, unknown>): Signature => ({
    ...sig,
    options: { ...sig.options, ...options },
  });

  it('a chain whose middle step is revoked ends REVOKED, naming the step', async () => {
    const { c, client, probe } = await setup();
    const middle = signature(c.add, { y: 10 });
    const middleId = middle.options.task_id as string;
    await client.handle(c.add, middleId).revoke();
    const last = await client.chain([signature(c.add, { x: 1, y: 2 }), middle, signature(c.add, { y: 100 })]);
    const { state, error } = await settled(last);
    expect(state).toBe('REVOKED' satisfies TaskState);
    expect(error.remote.excType).toBe('TaskRevokedError');
    expect(error.remote.excMessage).toContain(middleId);
    expect(probe.calls.has(middleId)).toBe(false);
  });

  it('a chain whose step expired ends REVOKED', async () => {
    const { c, client } = await setup();
    const expired = withOptions(signature(c.add, { y: 10 }), {
      expires: new Date(Date.now() - 60_000).toISOString(),
    });
    const last = await client.chain([signature(c.add, { x: 1, y: 2 }), expired, signature(c.add, { y: 1 })]);
    const { state, error } = await settled(last);
    expect(state).toBe('REVOKED');
    expect(error.remote.excMessage).toContain('expired');
  });

  it('a chain whose step gets invalid input ends in FAILURE with the validation error', async () => {
    const { c, client } = await setup();
    // `total` takes a list of numbers; the previous step hands it a single number (untyped on
    // purpose: the typed chain would refuse this mismatch at compile time).
    const mismatched: Signature = signature(c.total);
    const last = await client.chain([
      signature(c.add, { x: 1, y: 2 }),
      mismatched,
      signature(c.add, { y: 1 }),
    ]);
    const { state, error } = await settled(last);
    expect(state).toBe('FAILURE');
    expect(error.remote.excType).toBe('ValidationError');
  });

  it('a chain whose step is not registered ends in FAILURE with NotRegistered', async () => {
    const { c, client, queue } = await setup();
    const unknown: Signature = {
      task: 'testkit.not-registered',
      args: [],
      kwargs: {},
      options: { task_id: randomUUID(), queue },
      subtask_type: null,
      immutable: false,
    };
    const last = await client.chain([signature(c.add, { x: 1, y: 2 }), unknown, signature(c.add, { y: 1 })]);
    const { state, error } = await settled(last);
    expect(state).toBe('FAILURE');
    expect(error.remote.excType).toBe('NotRegistered');
  });

  it('a chain whose step fails ends in FAILURE with the error', async () => {
    const { c, client } = await setup();
    const last = await client.chain([
      signature(c.flaky, { failTimes: 9, mode: 'non-retriable' }),
      signature(c.add, { x: 1, y: 1 }),
    ]);
    const { state, error } = await settled(last);
    expect(state).toBe('FAILURE');
    expect(error.remote.excType).toBe('NonRetriableError');
  });

  it('a chord with a revoked member fails its body with ChordError', async () => {
    const { c, client, backend } = await setup();
    const revoked = signature(c.add, { x: 2, y: 2 });
    const revokedId = revoked.options.task_id as string;
    await client.handle(c.add, revokedId).revoke();
    const body = await client.chord([signature(c.add, { x: 1, y: 1 }), revoked], signature(c.total));
    const { state, error } = await settled(body);
    expect(state).toBe('FAILURE');
    expect(error.remote.excType).toBe('ChordError');
    await waitFor(async () => (await backend.get(revokedId))?.status === 'REVOKED', {
      what: 'the member to be REVOKED',
    });
  });
}

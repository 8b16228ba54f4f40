import { MemoryResultBackend, RemoteTaskError, TaskState } from '@celeriac/core';
import type { Delivery } from '@celeriac/core/adapter';
import { createClient } from '@celeriac/core/producer';
import { createWorker, type Worker, type WorkerOptions } from '@celeriac/core/worker';
import { afterEach, expect, it } from 'vitest';
import type { BrokerSuiteContext } from './broker-context.js';
import { newProbe, runtimeContracts, runtimeImplementations } from './runtime-fixtures.js';
import { sleep, uniqueName, waitFor } from './wait-for.js';

/** Worker-level behaviour (retries, time limits, expiry, revoke, bad input, shutdown) over the adapter. */
export function runtimeTests(ctx: BrokerSuiteContext): void {
  const caps = ctx.options.capabilities;
  const workers: Worker[] = [];
  afterEach(async () => {
    await Promise.allSettled(workers.splice(0).map((w) => w.stop({ graceMs: 500 })));
  });

  async function setup(options: Partial<WorkerOptions> = {}) {
    const queue = uniqueName('rt');
    const c = runtimeContracts(queue);
    const probe = newProbe();
    const backend = new MemoryResultBackend();
    const client = createClient({ broker: await ctx.broker(), backend });
    const startWorker = async (extra: Partial<WorkerOptions> = {}) => {
      const worker = createWorker({
        broker: await ctx.broker(),
        backend,
        tasks: runtimeImplementations(c, probe),
        concurrency: 4,
        ...options,
        ...extra,
      });
      workers.push(worker);
      await worker.start();
      return worker;
    };
    return { queue, c, probe, backend, client, startWorker };
  }

  const resultMs = () => ctx.deliveryMs + 10_000;

  it('runs a typed task and returns its typed result', async () => {
    const { c, client, startWorker } = await setup();
    await startWorker();
    const handle = await client.enqueue(c.add, { x: 2, y: 3 });
    expect(await handle.result({ timeoutMs: resultMs() })).toBe(5);
    expect((await handle.status()).state).toBe(TaskState.SUCCESS);
  });

  it('accepts a positional (Python-style) call mapped onto the input keys', async () => {
    const { c, client, queue, startWorker } = await setup();
    await startWorker();
    const handle = await client.send(c.add.name, { args: [40], kwargs: { y: 2 } }, { queue });
    expect(await handle.result({ timeoutMs: resultMs() })).toBe(42);
  });

  it('retries a failing task with backoff through the broker, then succeeds', async () => {
    const { c, client, probe, startWorker } = await setup();
    await startWorker();
    const handle = await client.enqueue(c.flaky, { failTimes: 2 });
    expect(await handle.result({ timeoutMs: resultMs() })).toEqual({ attempt: 3 });
    expect(probe.calls.get(handle.id)).toBe(3);
  });

  it('fails with the last error once retries are exhausted', async () => {
    const { c, client, probe, startWorker } = await setup();
    await startWorker();
    const handle = await client.enqueue(c.flaky, { failTimes: 10 });
    const error = await handle.result({ timeoutMs: resultMs() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteTaskError);
    expect((error as RemoteTaskError).remote.excMessage).toContain('attempt 4');
    expect(probe.calls.get(handle.id)).toBe(4);
  });

  it('does not retry a NonRetriableError', async () => {
    const { c, client, probe, startWorker } = await setup();
    await startWorker();
    const handle = await client.enqueue(c.flaky, { failTimes: 5, mode: 'non-retriable' });
    const error = await handle.result({ timeoutMs: resultMs() }).catch((e: unknown) => e);
    expect((error as RemoteTaskError).remote.excType).toBe('NonRetriableError');
    expect(probe.calls.get(handle.id)).toBe(1);
  });

  it('honours RetryAfterError as the retry delay', async () => {
    const { c, client, startWorker } = await setup();
    await startWorker();
    const sent = Date.now();
    const handle = await client.enqueue(c.flaky, { failTimes: 1, mode: 'retry-after' });
    expect(await handle.result({ timeoutMs: resultMs() })).toEqual({ attempt: 2 });
    expect(Date.now() - sent).toBeGreaterThanOrEqual(250);
  });

  it('aborts the handler signal at the soft time limit', async () => {
    const { c, client, startWorker } = await setup();
    await startWorker();
    const handle = await client.enqueue(c.sleep, { ms: 20_000 }, { softTimeoutMs: 200 });
    const error = await handle.result({ timeoutMs: resultMs() }).catch((e: unknown) => e);
    expect((error as RemoteTaskError).remote.excType).toBe('TimeLimitExceeded');
  });

  it('abandons a handler at the hard time limit and frees its slot', async () => {
    const { c, client, startWorker } = await setup({ concurrency: 1 });
    await startWorker();
    const stuck = await client.enqueue(c.sleep, { ms: 20_000, honourAbort: false }, { timeoutMs: 300 });
    const next = await client.enqueue(c.add, { x: 1, y: 1 });
    const error = await stuck.result({ timeoutMs: resultMs() }).catch((e: unknown) => e);
    expect((error as RemoteTaskError).remote.excType).toBe('TimeLimitExceeded');
    expect(await next.result({ timeoutMs: resultMs() })).toBe(2);
  });

  it('revokes an expired task instead of running it', async () => {
    const { c, client, probe, startWorker } = await setup();
    const handle = await client.enqueue(c.add, { x: 1, y: 2 }, { expiresAt: new Date(Date.now() - 1000) });
    await startWorker();
    const error = await handle.result({ timeoutMs: resultMs() }).catch((e: unknown) => e);
    expect((error as RemoteTaskError).remote.state).toBe('REVOKED');
    expect((error as RemoteTaskError).remote.excMessage).toBe('expired');
    expect(probe.calls.has(handle.id)).toBe(false);
  });

  it('skips a task revoked before it started', async () => {
    const { c, client, probe, startWorker } = await setup();
    const handle = await client.enqueue(c.add, { x: 1, y: 2 });
    await handle.revoke();
    await startWorker();
    const marker = await client.enqueue(c.add, { x: 0, y: 0 });
    await marker.result({ timeoutMs: resultMs() });
    expect((await handle.status()).state).toBe('REVOKED');
    expect(probe.calls.has(handle.id)).toBe(false);
  });

  it('fails an unknown task name with NotRegistered and keeps working', async () => {
    const { c, client, queue, startWorker } = await setup();
    const worker = await startWorker();
    const unknown = await client.send('testkit.nobody-implements-this', { kwargs: {} }, { queue });
    const error = await unknown.result({ timeoutMs: resultMs() }).catch((e: unknown) => e);
    expect((error as RemoteTaskError).remote.excType).toBe('NotRegistered');
    expect(await (await client.enqueue(c.add, { x: 1, y: 1 })).result({ timeoutMs: resultMs() })).toBe(2);
    await waitFor(() => worker.stats().rejected === 1, { what: 'the unknown task counted as rejected' });
    if (caps.deadLetter) {
      const dead = await waitFor(async () => (await (await ctx.broker()).readDeadLetters(queue))[0], {
        what: 'dead letter',
      });
      expect(dead.reason.code).toBe('TASK_NOT_REGISTERED');
    }
  });

  it('rejects invalid input on the worker side with a ValidationError', async () => {
    const { c, client, queue, startWorker } = await setup();
    await startWorker();
    // Forced past the producer's type and runtime checks, as a foreign producer could.
    const bad = await client.send(c.add.name, { kwargs: { x: 'no', y: 1 } }, { queue });
    const error = await bad.result({ timeoutMs: resultMs() }).catch((e: unknown) => e);
    expect((error as RemoteTaskError).remote.excType).toBe('ValidationError');
    if (caps.deadLetter) {
      const dead = await waitFor(async () => (await (await ctx.broker()).readDeadLetters(queue))[0], {
        what: 'dead letter',
      });
      expect(dead.reason.code).toBe('VALIDATION_FAILED');
    }
  });

  it('fails a message redelivered past the delivery limit, and a waiting handle sees the FAILURE', async () => {
    const { c, client, queue, startWorker } = await setup();
    // The worker's default maxDeliveries, and the default limit of brokers that keep their own.
    const limit = 10;
    const handle = await client.enqueue(c.add, { x: 1, y: 1 });
    const outcome = handle.result({ timeoutMs: resultMs() }).catch((e: unknown) => e);
    const broker = await ctx.broker();
    let last = 0;
    while (last < limit) {
      const deliveries: Delivery[] = [];
      const consumer = await broker.consume({
        queues: [queue],
        prefetch: 1,
        maxDeliveries: limit,
        onDelivery: (d) => deliveries.push(d),
      });
      const d = await waitFor(() => deliveries[0], { timeoutMs: resultMs(), what: `delivery ${last + 1}` });
      last = d.deliveryCount;
      // The message crashes its consumer: closing without settling returns it to the queue.
      await consumer.close();
    }
    await startWorker();
    const error = await outcome;
    expect(error).toBeInstanceOf(RemoteTaskError);
    expect((error as RemoteTaskError).remote.excType).toBe('DeliveryLimitExceeded');
    if (caps.deadLetter) {
      const dead = await waitFor(async () => (await broker.readDeadLetters(queue))[0], {
        what: 'dead letter',
      });
      expect(dead.reason.code).toBe('DELIVERY_LIMIT');
    }
  });

  it.skipIf(!ctx.options.injectRaw)('dead-letters a malformed message and keeps working', async () => {
    const { c, client, queue, startWorker } = await setup();
    const worker = await startWorker();
    await ctx.options.injectRaw?.(queue, 'garbage that is not a message');
    expect(await (await client.enqueue(c.add, { x: 2, y: 2 })).result({ timeoutMs: resultMs() })).toBe(4);
    await waitFor(() => worker.stats().rejected === 1, { what: 'malformed message rejected' });
    if (caps.deadLetter) {
      const dead = await waitFor(async () => (await (await ctx.broker()).readDeadLetters(queue))[0], {
        what: 'dead letter',
      });
      expect(dead.reason.code).toBe('MESSAGE_UNDECODABLE');
      expect(dead.raw).toContain('garbage');
    }
  });

  it('never runs more tasks at once than its concurrency', async () => {
    const { c, client, probe, startWorker } = await setup({ concurrency: 2 });
    await startWorker();
    const handles = await client.enqueueMany(
      c.sleep,
      Array.from({ length: 6 }, () => ({ ms: 100 })),
    );
    await Promise.all(handles.map((h) => h.result({ timeoutMs: resultMs() })));
    expect(probe.maxRunning).toBe(2);
  });

  it('finishes running tasks on graceful shutdown and leaves the rest queued', async () => {
    const { c, client, probe, startWorker } = await setup({ concurrency: 1 });
    const first = await startWorker();
    const handles = await client.enqueueMany(
      c.sleep,
      Array.from({ length: 4 }, () => ({ ms: 300 })),
    );
    await waitFor(() => probe.started.length === 1, { what: 'first task started' });
    await first.stop({ graceMs: 5_000 });
    // Whichever task started first (order is per key on partitioned brokers) finished during the stop.
    const running = handles.find((h) => h.id === probe.started[0]);
    expect(await running?.result({ timeoutMs: 1_000 })).toBe(300);
    await startWorker();
    const results = await Promise.all(handles.map((h) => h.result({ timeoutMs: resultMs() })));
    expect(results).toEqual([300, 300, 300, 300]);
    expect(handles.every((h) => probe.calls.get(h.id) === 1)).toBe(true);
  });

  it('requeues a task interrupted after the grace period, and another worker completes it', async () => {
    const { c, client, probe, startWorker } = await setup({ concurrency: 1 });
    const first = await startWorker();
    const handle = await client.enqueue(c.sleep, { ms: 1_500 });
    await waitFor(() => probe.started.length === 1, { what: 'task started' });
    await first.stop({ graceMs: 100 });
    expect((await handle.status()).state).not.toBe(TaskState.FAILURE);
    await startWorker();
    expect(await handle.result({ timeoutMs: resultMs() })).toBe(1_500);
    expect(probe.calls.get(handle.id)).toBe(2);
  });

  it('lets workers join and leave mid-run without losing or repeating a task', async () => {
    const { c, client, probe, startWorker } = await setup({ concurrency: 2 });
    const first = await startWorker();
    const handles = await client.enqueueMany(
      c.sleep,
      Array.from({ length: 30 }, () => ({ ms: 40 })),
    );
    await waitFor(() => probe.started.length >= 3, { timeoutMs: ctx.deliveryMs, what: 'work under way' });
    await startWorker();
    await waitFor(() => probe.started.length >= 10, { timeoutMs: resultMs(), what: 'more work done' });
    await first.stop({ graceMs: 5_000 });
    const results = await Promise.all(handles.map((h) => h.result({ timeoutMs: resultMs() })));
    expect(results).toEqual(handles.map(() => 40));
    // Graceful leave: nothing was interrupted, so nothing ran twice.
    expect(handles.map((h) => probe.calls.get(h.id))).toEqual(handles.map(() => 1));
  });

  it.skipIf(!caps.delay)('runs a delayed task no sooner than its delay', async () => {
    const { c, client, startWorker } = await setup();
    await startWorker();
    const sent = Date.now();
    const handle = await client.enqueue(c.add, { x: 1, y: 1 }, { delayMs: 700 });
    await sleep(100);
    expect((await handle.status()).state).toBe(TaskState.PENDING);
    expect(await handle.result({ timeoutMs: resultMs() })).toBe(2);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(650);
  });

  it('fans out a group and returns one typed handle per member', async () => {
    const { c, client, startWorker } = await setup();
    await startWorker();
    const { signature } = await import('@celeriac/core/producer');
    const handles = await client.group([
      signature(c.add, { x: 1, y: 1 }),
      signature(c.add, { x: 2, y: 2 }),
      signature(c.flaky, { failTimes: 0 }),
    ]);
    expect(await Promise.all(handles.map((h) => h.result({ timeoutMs: resultMs() })))).toEqual([
      2,
      4,
      { attempt: 1 },
    ]);
  });

  it('joins a chord: the body gets the header results in order', async () => {
    const { c, client, startWorker } = await setup();
    await startWorker();
    const { signature } = await import('@celeriac/core/producer');
    const header = [1, 2, 3, 4].map((x) => signature(c.add, { x, y: x * 10 }));
    const handle = await client.chord(header, signature(c.total));
    expect(await handle.result({ timeoutMs: resultMs() })).toBe(110);
  });

  it('fails a chord body when a header member fails', async () => {
    const { c, client, startWorker } = await setup();
    await startWorker();
    const { signature } = await import('@celeriac/core/producer');
    const header = [
      signature(c.add, { x: 1, y: 1 }),
      signature(c.flaky, { failTimes: 9, mode: 'non-retriable' }),
    ];
    const error = await (await client.chord(header, signature(c.total)))
      .result({ timeoutMs: resultMs() })
      .catch((e: unknown) => e);
    expect((error as RemoteTaskError).remote.excType).toBe('ChordError');
  });

  it('runs a chain, passing each result to the next step', async () => {
    const { c, client, startWorker } = await setup();
    await startWorker();
    const { signature } = await import('@celeriac/core/producer');
    const handle = await client.chain([
      signature(c.add, { x: 1, y: 2 }),
      signature(c.add, { y: 10 }),
      signature(c.add, { y: 100 }),
    ]);
    expect(await handle.result({ timeoutMs: resultMs() })).toBe(113);
  });
}

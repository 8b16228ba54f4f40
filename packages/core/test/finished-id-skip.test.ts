import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import { createTaskMessage } from '../src/message.js';
import { createClient, MemoryControlBus, MemoryControlTransport } from '../src/producer/index.js';
import { TaskState } from '../src/result-backend.js';
import { buildMeta } from '../src/result-meta.js';
import { createWorker, implement, type TaskEventMap } from '../src/worker/index.js';

// Item 9 of the reliability issue: a delivery whose task already has a final result is
// acknowledged without running, and says so.

const once = defineTask({ name: 'skip.once', input: z.object({ n: z.number() }), output: z.number() });

describe('a delivery whose task already has a final result', () => {
  it('is skipped with a task-skipped event naming the stored state', async () => {
    let runs = 0;
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const client = createClient({ broker, backend });
    // A worker stored SUCCESS and died before its ack: the message comes back.
    await backend.store(buildMeta(TaskState.SUCCESS, 'fixed-id', 10));
    await client.enqueue(once, { n: 99 }, { taskId: 'fixed-id' });
    let received!: () => void;
    const delivered = new Promise<void>((resolve) => (received = resolve));
    const dying = await broker.consume({ queues: ['celery'], prefetch: 1, onDelivery: () => received() });
    await delivered;
    // Closing returns the unsettled delivery to the queue, as a dead consumer's would be.
    await dying.close();

    const worker = createWorker({ broker, backend, tasks: [implement(once, ({ n }) => ++runs * n)] });
    const skipped: TaskEventMap['task-skipped'][] = [];
    const seen = new Promise<void>((resolve) =>
      worker.on('task-skipped', (e) => {
        skipped.push(e);
        resolve();
      }),
    );
    await worker.start();
    await seen;
    await worker.stop();
    expect(runs).toBe(0);
    expect(skipped).toEqual([
      { uuid: 'fixed-id', name: once.name, reason: 'already-finished', state: 'SUCCESS' },
    ]);
    expect(await broker.depth('celery')).toBe(0);
  });
});

describe('a message a worker published twice (a chain step after a crash)', () => {
  it('is read before running and skipped, even where the fleet’s revoked set spares first deliveries the read', async () => {
    let runs = 0;
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const bus = new MemoryControlBus();
    const worker = createWorker({
      broker,
      backend,
      tasks: [implement(once, ({ n }) => ++runs * n)],
      control: new MemoryControlTransport(bus),
    });
    const skipped: TaskEventMap['task-skipped'][] = [];
    const seen = new Promise<void>((resolve) =>
      worker.on('task-skipped', (e) => {
        skipped.push(e);
        resolve();
      }),
    );
    await worker.start();
    // The step already ran and stored SUCCESS; its parent's worker crashed before its ack, so the
    // parent ran again and published the same step (same id, same parent) a second time.
    await backend.store(buildMeta(TaskState.SUCCESS, 'step-3', 1));
    await broker.publish({
      queue: 'celery',
      message: createTaskMessage({ task: once.name, id: 'step-3', kwargs: { n: 1 }, parentId: 'step-2' }),
    });
    await seen;
    await worker.stop();
    expect(skipped.map((e) => e.uuid)).toEqual(['step-3']);
    expect(runs).toBe(0);
  });
});

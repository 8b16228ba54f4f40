import { MemoryBroker, MemoryResultBackend } from '@celeriac/core';
import { createTaskMessage, flowStoreOf } from '@celeriac/core/adapter';
import { describe, expect, it } from 'vitest';
import { QueueMonitor } from '../src/queue-monitor.js';

const publish = (broker: MemoryBroker, queue: string) =>
  broker.publish({ queue, message: createTaskMessage({ task: 'q.t', args: [] }) });

describe('the queue monitor', () => {
  it('bounds the oldest wait by the last time it saw the queue empty, and knows none for an older backlog', async () => {
    const broker = new MemoryBroker();
    await publish(broker, 'old');
    const monitor = new QueueMonitor(broker, ['fresh', 'old']);
    await monitor.poll(1_000);
    await publish(broker, 'fresh');
    await monitor.poll(2_000);
    await publish(broker, 'fresh');
    await monitor.poll(5_000);
    const [fresh, old] = monitor.views(6_000);
    expect(fresh).toMatchObject({
      name: 'fresh',
      depth: 2,
      oldestWaitingMaxMs: 5_000,
      backlogSinceStart: false,
    });
    expect(old).toMatchObject({ name: 'old', depth: 1, oldestWaitingMaxMs: null, backlogSinceStart: true });
    await broker.purge('fresh');
    await monitor.poll(7_000);
    expect(monitor.views(8_000)[0]).toMatchObject({
      depth: 0,
      oldestWaitingMaxMs: null,
      backlogSinceStart: false,
    });
    await broker.close();
  });

  it('shows which queues are paused fleet-wide, and watches a paused queue it did not know', async () => {
    const backend = new MemoryResultBackend();
    const flow = flowStoreOf(backend);
    if (!flow) throw new Error('the memory backend keeps flow state');
    const broker = new MemoryBroker();
    const monitor = new QueueMonitor(broker, ['a'], undefined, () => flow.pausedQueues());
    const without = new QueueMonitor(broker, ['a']);
    await flow.setQueuePaused('b', true);
    await Promise.all([monitor.poll(), without.poll()]);
    expect(monitor.views().map((q) => [q.name, q.paused])).toEqual([
      ['a', false],
      ['b', true],
    ]);
    expect(without.views().map((q) => q.paused)).toEqual([null]);
    await broker.close();
  });
});

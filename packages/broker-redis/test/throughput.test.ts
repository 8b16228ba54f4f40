import { createTaskMessage } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { sleep, uniqueName, waitFor } from '@celeriac/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import type { RedisBroker } from '../src/index.js';
import { redisUrl, testBroker } from './helpers.js';

const up = await requireService('redis', redisUrl);

// Figures are printed for the record, never asserted: timing depends on the machine.
describe.skipIf(!up)('throughput (measured, not asserted)', () => {
  const brokers: RedisBroker[] = [];
  afterEach(async () => {
    await Promise.allSettled(brokers.splice(0).map((b) => b.close()));
  });

  it('publishes 10k in bulk, then consumes and acks them with prefetch 100', async () => {
    const producer = testBroker();
    const worker = testBroker();
    brokers.push(producer, worker);
    const queue = uniqueName('bulk');
    const n = 10_000;
    const messages = Array.from({ length: n }, (_, i) => ({
      queue,
      message: createTaskMessage({ task: 'bench.noop', args: [i], kwargs: { pad: 'x'.repeat(100) } }),
    }));
    const t0 = performance.now();
    await producer.publishMany(messages);
    const published = performance.now() - t0;
    expect(await producer.depth(queue)).toBe(n);

    const seen = new Set<string>();
    const t1 = performance.now();
    const consumer = await worker.consume({
      queues: [queue],
      prefetch: 100,
      onDelivery: (d) => {
        if (d.kind === 'task') seen.add(d.message.headers.id);
        void d.ack();
      },
    });
    await waitFor(() => seen.size === n, { timeoutMs: 120_000, intervalMs: 5, what: `${n} deliveries` });
    const consumed = performance.now() - t1;
    await consumer.close();
    expect(await producer.depth(queue)).toBe(0);
    console.log(
      `[broker-redis] publishMany ${n}: ${published.toFixed(0)} ms (${Math.round(n / (published / 1000))} msg/s); ` +
        `consume+ack ${n} at prefetch 100: ${consumed.toFixed(0)} ms (${Math.round(n / (consumed / 1000))} msg/s)`,
    );
  });

  it('delivers a single message to a waiting consumer quickly (latency sample)', async () => {
    const producer = testBroker();
    const worker = testBroker();
    brokers.push(producer, worker);
    const queue = uniqueName('lat');
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    await worker.consume({
      queues: [queue],
      prefetch: 10,
      onDelivery: (d) => {
        if (d.kind === 'task') latencies.push(performance.now() - (sentAt.get(d.message.headers.id) ?? 0));
        void d.ack();
      },
    });
    await sleep(200);
    for (let i = 0; i < 200; i++) {
      const message = createTaskMessage({ task: 'bench.ping' });
      sentAt.set(message.headers.id, performance.now());
      await producer.publish({ queue, message });
      await waitFor(() => latencies.length === i + 1, { intervalMs: 1, what: `delivery ${i}` });
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const pct = (p: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
    expect(latencies).toHaveLength(200);
    console.log(
      `[broker-redis] publish→delivery latency over 200 (idle consumer blocked in BLPOP): p50 ${pct(50).toFixed(2)} ms, p99 ${pct(99).toFixed(2)} ms`,
    );
  });
});

import { randomUUID } from 'node:crypto';
import type { Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { testMessage, uniqueName, waitFor } from '@celeriac/testkit';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { brokers, kafkaUrl, testBroker } from './kafka-env.js';

// Measurements, not assertions on speed: run with CELERIAC_KAFKA_BENCH=1 and read the log.
const up = await requireService('kafka', kafkaUrl);
const enabled = process.env.CELERIAC_KAFKA_BENCH === '1';
const N = 10_000;

const rate = (n: number, ms: number) => `${Math.round((n / ms) * 1000)}/s (${ms.toFixed(0)} ms)`;

describe.skipIf(!up || !enabled)('throughput on one local broker', () => {
  it(`publishes ${N}, consumes and acks them (3 partitions, prefetch 100), and compares with raw kafkajs`, async () => {
    const queue = uniqueName('bench');
    const broker = testBroker({ partitions: 3 });
    try {
      await broker.declareQueue(queue);
      const messages = Array.from({ length: N }, (_, i) => ({
        queue,
        message: testMessage({ kwargs: { i } }),
      }));
      let t = performance.now();
      await broker.publishMany(messages);
      const publishMs = performance.now() - t;

      let acked = 0;
      let firstAt = 0;
      t = performance.now();
      const consumer = await broker.consume({
        queues: [queue],
        prefetch: 100,
        onDelivery: (d: Delivery) => {
          firstAt ||= performance.now();
          void d.ack().then(() => acked++);
        },
      });
      await waitFor(() => acked === N, { timeoutMs: 120_000, intervalMs: 5, what: `${N} acks` });
      const consumeMs = performance.now() - t;
      const drainMs = performance.now() - firstAt;
      await consumer.close();
      expect(await broker.depth(queue)).toBe(0);

      // The ceiling: kafkajs alone reading the same records with eachBatch (no decoding, no acks).
      const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
      const raw = kafka.consumer({ groupId: `bench-raw-${randomUUID()}`, maxWaitTimeInMs: 100 });
      let seen = 0;
      t = performance.now();
      await raw.connect();
      await raw.subscribe({ topics: [queue], fromBeginning: true });
      await raw.run({
        eachBatch: async ({ batch }) => {
          seen += batch.messages.length;
        },
      });
      await waitFor(() => seen >= N, { timeoutMs: 120_000, intervalMs: 5, what: 'raw consume' });
      const rawMs = performance.now() - t;
      await raw.disconnect();
      expect(seen).toBe(N);

      // Latency: one task at a time, publish to acknowledged delivery.
      const latencies: number[] = [];
      let resolve: (() => void) | undefined;
      const one = await broker.consume({
        queues: [queue],
        prefetch: 1,
        onDelivery: (d) => void d.ack().then(() => resolve?.()),
      });
      for (let i = 0; i < 200; i++) {
        const start = performance.now();
        await new Promise<void>((r) => {
          resolve = r;
          void broker.publish({ queue, message: testMessage() });
        });
        latencies.push(performance.now() - start);
      }
      await one.close();
      latencies.sort((a, b) => a - b);
      const pct = (p: number) => (latencies[Math.floor((latencies.length - 1) * p)] ?? 0).toFixed(1);

      console.log(
        [
          `kafka adapter, ${N} messages, 3 partitions:`,
          `  publishMany:             ${rate(N, publishMs)}`,
          `  consume + ack, prefetch 100: ${rate(N, consumeMs)} from consume() (incl. group join); ${rate(N, drainMs)} from first delivery`,
          `  raw kafkajs eachBatch:   ${rate(N, rawMs)} (incl. group join)`,
          `  publish -> ack latency, one at a time: p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms`,
        ].join('\n'),
      );
      expect(latencies).toHaveLength(200);
    } finally {
      await broker.close();
    }
  }, 300_000);
});

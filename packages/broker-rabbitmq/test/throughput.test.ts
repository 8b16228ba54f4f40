import { createTaskMessage, encodeBody } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { taskPublishOptions } from '../src/codec.js';
import { AMQP_URL, BrokerFactory, rawConnection } from './support.js';

// A measurement, not a check: run with CELERIAC_BENCH=1. It asserts only that nothing was lost.
const enabled = process.env.CELERIAC_BENCH === '1';
const up = enabled && (await requireService('rabbitmq', AMQP_URL));
const N = 10_000;
const PREFETCH = 100;

function rate(ms: number): string {
  return `${Math.round((N / ms) * 1000)} msg/s (${ms.toFixed(0)} ms)`;
}

describe.skipIf(!up)('rabbitmq throughput (10k messages)', () => {
  const brokers = new BrokerFactory();
  afterAll(() => brokers.cleanup());
  const results: Record<string, number> = {};

  it('Celeriac: publishMany with confirms, then consume + ack at prefetch 100', async () => {
    const broker = brokers.create();
    const queue = uniqueName('bench');
    await broker.consume({ queues: [queue], prefetch: 1, onDelivery: () => {} }).then((c) => c.close());
    const items = Array.from({ length: N }, (_, i) => ({
      queue,
      message: createTaskMessage({ task: 'bench.t', args: [i] }),
    }));
    const warm = uniqueName('bench');
    await broker.publish({ queue: warm, message: createTaskMessage({ task: 'warm' }) }); // connect
    const t0 = performance.now();
    await broker.publishMany(items);
    results.publish = performance.now() - t0;
    expect(await broker.depth(queue)).toBe(N);
    let acked = 0;
    const t1 = performance.now();
    const consumer = await broker.consume({
      queues: [queue],
      prefetch: PREFETCH,
      onDelivery: (d) => {
        void d.ack().then(() => acked++);
      },
    });
    await waitFor(() => acked === N, { timeoutMs: 120_000, intervalMs: 5, what: 'all acked' });
    results.consume = performance.now() - t1;
    await consumer.close();
    expect(acked).toBe(N);
  }, 180_000);

  it('Celeriac: latency of one task, publish (confirmed) to delivery, 1000 times in a row', async () => {
    const broker = brokers.create();
    const queue = uniqueName('bench');
    let arrived: (() => void) | undefined;
    await broker.consume({
      queues: [queue],
      prefetch: 1,
      onDelivery: (d) => {
        void d.ack();
        arrived?.();
      },
    });
    const samples: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const delivered = new Promise<void>((resolve) => {
        arrived = resolve;
      });
      const t0 = performance.now();
      await broker.publish({ queue, message: createTaskMessage({ task: 'bench.t', args: [i] }) });
      await delivered;
      samples.push(performance.now() - t0);
    }
    samples.sort((a, b) => a - b);
    const at = (q: number) => (samples[Math.floor(q * (samples.length - 1))] ?? 0).toFixed(2);
    console.log(`publish->delivery latency  p50 ${at(0.5)} ms  p99 ${at(0.99)} ms  max ${at(1)} ms`);
    expect(samples).toHaveLength(1000);
  }, 180_000);

  it('raw amqplib: the same messages, confirm channel, consume + ack at prefetch 100', async () => {
    const model = await rawConnection();
    const queue = brokers.track(uniqueName('bench'));
    try {
      const ch = await model.createConfirmChannel();
      await ch.assertQueue(queue, { durable: true });
      const messages = Array.from({ length: N }, (_, i) => createTaskMessage({ task: 'bench.t', args: [i] }));
      const t0 = performance.now();
      for (const m of messages) {
        if (!ch.sendToQueue(queue, Buffer.from(encodeBody(m)), taskPublishOptions(m, false))) {
          await new Promise((r) => ch.once('drain', r));
        }
      }
      await ch.waitForConfirms();
      results.rawPublish = performance.now() - t0;
      const consumeCh = await model.createChannel();
      await consumeCh.prefetch(PREFETCH);
      let acked = 0;
      const t1 = performance.now();
      await consumeCh.consume(queue, (msg) => {
        if (!msg) return;
        JSON.parse(msg.content.toString('utf8'));
        consumeCh.ack(msg);
        acked++;
      });
      await waitFor(() => acked === N, { timeoutMs: 120_000, intervalMs: 5, what: 'all acked' });
      results.rawConsume = performance.now() - t1;
      expect(acked).toBe(N);
    } finally {
      await model.close();
    }
    const { publish = 0, consume = 0, rawPublish = 0, rawConsume = 0 } = results;
    console.log(
      [
        `publishMany+confirms  celeriac ${rate(publish)}  raw ${rate(rawPublish)}  ratio ${(publish / rawPublish).toFixed(2)}x time`,
        `consume+ack @${PREFETCH}      celeriac ${rate(consume)}  raw ${rate(rawConsume)}  ratio ${(consume / rawConsume).toFixed(2)}x time`,
      ].join('\n'),
    );
  }, 180_000);
});

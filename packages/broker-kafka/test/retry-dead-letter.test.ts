import type { Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { idOf, sleep, testMessage, uniqueName, waitFor } from '@celeriac/testkit';
import { describe, expect, it } from 'vitest';
import { kafkaAdmin, kafkaUrl, recordsWritten, testBroker } from './kafka-env.js';

const up = await requireService('kafka', kafkaUrl);

describe.skipIf(!up)('retries, delays and dead letters', () => {
  it('sends a delayed retry through the delay-tier topics, hopping down to shorter tiers', async () => {
    const queue = uniqueName('retry');
    const broker = testBroker({ delayTiersMs: [200, 1000] });
    const admin = await kafkaAdmin();
    try {
      const got: { at: number; d: Delivery }[] = [];
      const consumer = await broker.consume({
        queues: [queue],
        prefetch: 5,
        onDelivery: (d) => got.push({ at: Date.now(), d }),
      });
      const message = testMessage();
      await broker.publish({ queue, message });
      const first = await waitFor(() => got[0], { what: 'first delivery' });
      const requeuedAt = Date.now();
      await first.d.requeue({ delayMs: 1500 });
      const second = await waitFor(() => got[1], { timeoutMs: 10_000, what: 'the retry' });
      expect(idOf(second.d)).toBe(message.headers.id);
      expect(second.at - requeuedAt).toBeGreaterThanOrEqual(1500);
      expect(second.d.deliveryCount).toBe(2);
      // 1500 ms: the 1 s tier first, then the 200 ms tier until due.
      expect(await recordsWritten(admin, `${queue}.retry.1s`)).toBe(1);
      expect(await recordsWritten(admin, `${queue}.retry.200ms`)).toBeGreaterThanOrEqual(1);
      // The work topic holds the original and the one re-published copy: the retry never blocked it.
      expect(await recordsWritten(admin, queue)).toBe(2);
      await second.d.ack();
      await consumer.close();
    } finally {
      await admin.disconnect();
      await broker.close();
    }
  });

  it('does not hold up records published after a delayed one', async () => {
    const queue = uniqueName('delay');
    const broker = testBroker({ partitions: 1 });
    try {
      const got: Delivery[] = [];
      const consumer = await broker.consume({ queues: [queue], prefetch: 5, onDelivery: (d) => got.push(d) });
      const late = testMessage();
      await broker.publish({ queue, message: late, delayMs: 2_000 });
      const now = Array.from({ length: 3 }, () => testMessage());
      await broker.publishMany(now.map((message) => ({ queue, message })));
      await waitFor(() => got.length === 3, { what: 'the undelayed ones' });
      expect(got.map(idOf)).toEqual(now.map((m) => m.headers.id));
      expect(await broker.depth(queue)).toBe(0);
      await waitFor(() => got.length === 4, { timeoutMs: 10_000, what: 'the delayed one' });
      expect(idOf(got[3] as Delivery)).toBe(late.headers.id);
      await Promise.all(got.map((d) => d.ack()));
      await consumer.close();
    } finally {
      await broker.close();
    }
  });

  it('puts a poison record in the dead-letter topic with its reason and original headers, and redrives it', async () => {
    const queue = uniqueName('poison');
    const broker = testBroker();
    try {
      const got: Delivery[] = [];
      const consumer = await broker.consume({ queues: [queue], prefetch: 5, onDelivery: (d) => got.push(d) });
      await broker.injectRaw(queue, '\u0000\u0001 not a task');
      const task = testMessage({ task: 'poison.crasher', kwargs: { n: 1 } });
      await broker.publish({ queue, message: task });
      await waitFor(() => got.length === 2, { what: 'two deliveries' });
      for (const d of got) {
        if (d.kind === 'malformed') await d.deadLetter({ code: d.error.code, message: d.error.message });
        else await d.deadLetter({ code: 'DELIVERY_LIMIT', message: 'crashed its worker 5 times' });
      }
      const dead = await broker.readDeadLetters(queue);
      expect(dead).toHaveLength(2);
      const garbage = dead.find((x) => x.reason.code === 'MESSAGE_UNDECODABLE');
      expect(garbage?.raw).toBe('\u0000\u0001 not a task');
      const poison = dead.find((x) => x.reason.code === 'DELIVERY_LIMIT');
      expect(poison?.reason.message).toBe('crashed its worker 5 times');
      const raw = JSON.parse(poison?.raw ?? '{}') as { headers: Record<string, unknown>; body: unknown };
      expect(raw.headers.id).toBe(task.headers.id);
      expect(raw.headers.task).toBe('poison.crasher');
      expect(raw.body).toEqual([[], { n: 1 }, { callbacks: null, errbacks: null, chain: null, chord: null }]);
      expect(poison?.at.getTime()).toBeLessThanOrEqual(Date.now());
      await sleep(300);
      expect(got).toHaveLength(2);

      expect(await broker.redriveDeadLetters(queue)).toBe(2);
      await waitFor(() => got.length === 4, { what: 'redriven deliveries' });
      const back = got.slice(2).find((d) => d.kind === 'task');
      expect(back && idOf(back)).toBe(task.headers.id);
      expect(back?.deliveryCount).toBe(1);
      expect(await broker.readDeadLetters(queue)).toEqual([]);
      await Promise.all(got.slice(2).map((d) => d.ack()));
      await consumer.close();
    } finally {
      await broker.close();
    }
  });

  it('reports depth without in-flight or delayed records, and purges both', async () => {
    const queue = uniqueName('depth');
    const broker = testBroker({ partitions: 2 });
    try {
      await broker.publishMany(Array.from({ length: 6 }, () => ({ queue, message: testMessage() })));
      await broker.publish({ queue, message: testMessage(), delayMs: 60_000 });
      expect(await broker.depth(queue)).toBe(6);
      const got: Delivery[] = [];
      const consumer = await broker.consume({ queues: [queue], prefetch: 2, onDelivery: (d) => got.push(d) });
      await waitFor(() => got.length === 2, { what: 'two held deliveries' });
      await waitFor(async () => (await broker.depth(queue)) === 4, { what: 'depth 4' });
      expect(await broker.purge(queue)).toBe(5);
      expect(await broker.depth(queue)).toBe(0);
      await Promise.all(got.map((d) => d.ack()));
      await consumer.close();
    } finally {
      await broker.close();
    }
  });
});

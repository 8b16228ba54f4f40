import type { Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { sleep, testMessage, uniqueName, waitFor } from '@celeriac/testkit';
import { describe, expect, it } from 'vitest';
import { committedOffset, kafkaAdmin, kafkaUrl, testBroker } from './kafka-env.js';

const up = await requireService('kafka', kafkaUrl);

const indexOf = (d: Delivery) => (d.kind === 'task' ? (d.message.body[1].i as number) : -1);

describe.skipIf(!up)('in-flight window of a partition', () => {
  it('processes past a slow record but never commits past it', async () => {
    const queue = uniqueName('window');
    const broker = testBroker({ partitions: 1 });
    const admin = await kafkaAdmin();
    try {
      await broker.publishMany(
        Array.from({ length: 30 }, (_, i) => ({ queue, message: testMessage({ kwargs: { i } }) })),
      );
      const got: Delivery[] = [];
      const consumer = await broker.consume({
        queues: [queue],
        prefetch: 10,
        onDelivery: (d) => {
          got.push(d);
          // Record 3 is the slow one: everything else finishes at once.
          if (indexOf(d) !== 3) void d.ack();
        },
      });
      // One partition, ten slots: the other 29 records pass the slow one.
      await waitFor(() => got.length === 30, { timeoutMs: 15_000, what: '30 deliveries' });
      expect(got.map(indexOf)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      await waitFor(async () => (await committedOffset(admin, `celeriac.${queue}`, queue)) === 3, {
        what: 'commit at 3',
      });
      await sleep(500);
      expect(await committedOffset(admin, `celeriac.${queue}`, queue)).toBe(3);
      // Finishing the slow record releases the whole finished run behind it.
      await got[3]?.ack();
      await waitFor(async () => (await committedOffset(admin, `celeriac.${queue}`, queue)) === 30, {
        what: 'commit at 30',
      });
      await consumer.close();

      // No loss, no skip: a new consumer sees only what is published next.
      const marker = testMessage({ kwargs: { i: 30 } });
      await broker.publish({ queue, message: marker });
      const again: Delivery[] = [];
      const next = await broker.consume({ queues: [queue], prefetch: 10, onDelivery: (d) => again.push(d) });
      await waitFor(() => again.length === 1, { what: 'the marker' });
      await sleep(300);
      expect(again.map(indexOf)).toEqual([30]);
      await again[0]?.ack();
      await next.close();
    } finally {
      await admin.disconnect();
      await broker.close();
    }
  });

  it('pauses a partition whose finished run behind a stuck record reaches maxUncommitted', async () => {
    const queue = uniqueName('span');
    const broker = testBroker({ partitions: 1, maxUncommitted: 8 });
    try {
      await broker.publishMany(
        Array.from({ length: 20 }, (_, i) => ({ queue, message: testMessage({ kwargs: { i } }) })),
      );
      const got: Delivery[] = [];
      const consumer = await broker.consume({
        queues: [queue],
        prefetch: 5,
        onDelivery: (d) => {
          got.push(d);
          if (indexOf(d) !== 0) void d.ack();
        },
      });
      await waitFor(() => got.length === 8, { what: '8 deliveries' });
      await sleep(500);
      // Free slots remain, but 8 records sit between the committed offset and the newest one.
      expect(got).toHaveLength(8);
      await got[0]?.ack();
      await waitFor(() => got.length === 20, { what: 'the rest after the stuck record finished' });
      await consumer.close();
    } finally {
      await broker.close();
    }
  });
});

import type { Consumer, Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { idOf, testMessage, uniqueName, waitFor } from '@celeriac/testkit';
import { describe, expect, it } from 'vitest';
import { kafkaAdmin, kafkaUrl, testBroker } from './kafka-env.js';

const up = await requireService('kafka', kafkaUrl);

describe.skipIf(!up)('a second worker joining', () => {
  it('triggers a rebalance that loses nothing and, with in-flight work finished first, repeats nothing', async () => {
    const queue = uniqueName('rebalance');
    const total = 400;
    const producer = testBroker({ partitions: 6 });
    const [a, b] = [testBroker(), testBroker()];
    const admin = await kafkaAdmin();
    const consumers: Consumer[] = [];
    try {
      const messages = Array.from({ length: total }, () => testMessage());
      await producer.publishMany(messages.map((message) => ({ queue, message })));
      const deliveries: { worker: 'a' | 'b'; delivery: Delivery }[] = [];
      const done = new Set<string>();
      const consume = async (broker: typeof a, worker: 'a' | 'b') =>
        broker.consume({
          queues: [queue],
          prefetch: 5,
          onDelivery: (delivery) => {
            deliveries.push({ worker, delivery });
            // Tasks take a little while, so records are in flight when the group rebalances.
            setTimeout(() => void delivery.ack().then(() => done.add(idOf(delivery))), 50);
          },
        });
      consumers.push(await consume(a, 'a'));
      await waitFor(() => deliveries.length >= 40, { timeoutMs: 15_000, what: 'worker a under way' });
      consumers.push(await consume(b, 'b'));
      const group = await admin.describeGroups([`celeriac.${queue}`]);
      expect(group.groups[0]?.members).toHaveLength(2);

      await waitFor(() => done.size === total, { timeoutMs: 30_000, what: `all ${total} tasks done` });
      expect(done).toEqual(new Set(messages.map((m) => m.headers.id)));
      const byWorker = (w: string) => deliveries.filter((d) => d.worker === w).length;
      expect(byWorker('b')).toBeGreaterThan(0);
      // Worker a finished what it held before giving partitions up, so nothing ran twice.
      expect(deliveries).toHaveLength(total);
      expect(deliveries.every((d) => d.delivery.deliveryCount === 1)).toBe(true);
    } finally {
      await Promise.allSettled(consumers.map((c) => c.close()));
      await admin.disconnect();
      await Promise.allSettled([a, b, producer].map((x) => x.close()));
    }
  });
});

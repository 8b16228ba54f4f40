import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { describeBroker, uniqueName, waitFor } from '@celeriac/testkit';
import { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisBroker, redisBrokerCapabilities } from '../src/index.js';
import { fastRecovery } from './helpers.js';

const nodes = (
  process.env.CELERIAC_REDIS_CLUSTER_NODES ?? '127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002'
).split(',');
const url = `redis+cluster://${nodes.join(',')}`;
const up = await requireService('redis-cluster', url);

const clusterBroker = () => new RedisBroker({ url, ...fastRecovery });

describe.skipIf(!up)('redis broker on Redis Cluster', () => {
  const raw = new Cluster(
    nodes.map((n) => ({ host: n.split(':')[0], port: Number(n.split(':')[1]) })),
    {
      lazyConnect: true,
    },
  );
  afterAll(() => raw.disconnect());

  describeBroker('redis-cluster', {
    create: clusterBroker,
    capabilities: redisBrokerCapabilities,
    injectRaw: async (queue, text) => void (await raw.lpush(`{${queue}}`, text)),
    simulateCrash: (broker) => (broker as RedisBroker).destroy(),
    timing: { redeliveryAfterCrashMs: 4000 },
  });

  describe('hash slots', () => {
    it('keeps every key of a queue in one slot, and serves queues that live on different nodes', async () => {
      const broker = clusterBroker();
      // Find two queue names whose slots are served by different masters.
      const slots = (await raw.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
      const ownerOf = async (name: string) => {
        const slot = Number(await raw.cluster('KEYSLOT', `{${name}}`));
        return slots.find(([lo, hi]) => slot >= lo && slot <= hi)?.[2][1];
      };
      const a = uniqueName('a');
      let b = uniqueName('b');
      while ((await ownerOf(b)) === (await ownerOf(a))) b = uniqueName('b');

      const got: Delivery[] = [];
      const consumer = await broker.consume({ queues: [a, b], prefetch: 4, onDelivery: (d) => got.push(d) });
      await consumer.pause();
      await broker.publish({ queue: a, message: createTaskMessage({ task: 'on-a', priority: 9 }) });
      await broker.publish({ queue: b, message: createTaskMessage({ task: 'on-b', priority: 0 }) });
      await broker.publish({ queue: a, message: createTaskMessage({ task: 'later' }), delayMs: 60_000 });
      const keys: string[] = [];
      for (const node of raw.nodes('master')) keys.push(...(await node.keys(`*{${a}}*`)));
      expect(keys.length).toBeGreaterThanOrEqual(2); // a priority list and the delayed zset
      const keySlots = new Set(await Promise.all(keys.map((k) => raw.cluster('KEYSLOT', k))));
      expect(keySlots.size).toBe(1);

      consumer.resume();
      await waitFor(() => got.length === 2, { what: 'both queues' });
      expect(got.map((d) => d.queue).sort()).toEqual([a, b].sort());
      // While held, the bookkeeping of queue a sits in a's slot too.
      const held: string[] = [];
      for (const node of raw.nodes('master')) held.push(...(await node.keys(`_celeriac.held.{${a}}.*`)));
      expect(held).toHaveLength(1);
      await Promise.all(got.map((d) => d.ack()));
      expect(await broker.purge(a)).toBe(1);
      await broker.close();
    });
  });
});

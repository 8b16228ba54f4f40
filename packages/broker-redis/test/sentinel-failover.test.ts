import { spawnSync } from 'node:child_process';
import { createTaskMessage } from '@celeriac/core/adapter';
import { type OwnSentinelSet, startRedisSentinelSet } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBroker } from '../src/index.js';
import { fastRecovery, publishUntilAccepted } from './helpers.js';

const canSpawn = spawnSync('redis-server', ['--version']).status === 0;
if (!canSpawn && process.env.CI === 'true')
  throw new Error('[celeriac:SERVICE_MISSING] redis-server is not on PATH');

describe.skipIf(!canSpawn)('redis broker across a Sentinel failover', () => {
  let set: OwnSentinelSet | undefined;
  const brokers: RedisBroker[] = [];
  beforeAll(async () => {
    set = await startRedisSentinelSet();
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled(brokers.map((b) => b.close()));
    await set?.stop();
  });

  it('keeps publishing and consuming on the promoted replica, and loses nothing published', async () => {
    if (!set) throw new Error('no sentinel set');
    const consumer = new RedisBroker({ url: set.url, ...fastRecovery });
    const producer = new RedisBroker({ url: set.url, ...fastRecovery });
    brokers.push(consumer, producer);
    const queue = uniqueName('failover');
    const seen = new Set<string>();
    await consumer.consume({
      queues: [queue],
      prefetch: 10,
      onDelivery: (d) => {
        if (d.kind === 'task') seen.add(d.message.headers.id);
        void d.ack().catch(() => {});
      },
      onError: () => {},
    });
    const published: string[] = [];
    const publish = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const message = createTaskMessage({ task: 'tasks.n', kwargs: { i } });
        await publishUntilAccepted(producer, queue, message);
        published.push(message.headers.id);
      }
    };
    await publish(20);
    await waitFor(() => published.every((id) => seen.has(id)), { what: 'deliveries before the failover' });

    await set.failover();

    await publish(20);
    await waitFor(() => published.every((id) => seen.has(id)), {
      timeoutMs: 30_000,
      what: 'every message delivered after the failover',
    });
    expect(published).toHaveLength(40);
    // Everything was settled on the new master: nothing is left held or queued there.
    const promoted = new Redis(set.replicaPort, '127.0.0.1');
    try {
      await waitFor(async () => (await promoted.hlen('unacked')) === 0, {
        what: 'all acked on the new master',
      });
      expect(await promoted.llen(queue)).toBe(0);
      expect(await promoted.info('replication')).toContain('role:master');
    } finally {
      promoted.disconnect();
    }
  }, 90_000);
});

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTaskMessage } from '@celeriac/core';
import { probeTcp, sleep, uniqueName, waitFor } from '@celeriac/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBroker } from '../src/index.js';
import { fastRecovery } from './helpers.js';
import { freePort, type OwnRedis, startRedis } from './redis-server.js';

const canSpawn = spawnSync('redis-server', ['--version']).status === 0;
if (!canSpawn && process.env.CI === 'true')
  throw new Error('[celeriac:SERVICE_MISSING] redis-server is not on PATH');

/** A master, its replica and one sentinel (quorum 1), all this test's own: a failover swaps roles. */
interface SentinelSet {
  readonly name: string;
  readonly masterPort: number;
  readonly replicaPort: number;
  readonly sentinelPort: number;
  stop(): Promise<void>;
}

async function startSentinelSet(): Promise<SentinelSet> {
  const name = `failover-${process.pid}`;
  const master: OwnRedis = await startRedis();
  const replica: OwnRedis = await startRedis(['--replicaof', '127.0.0.1', String(master.port)]);
  const sentinelPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  // Sentinel rewrites its config file, so it gets one of its own.
  writeFileSync(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${name} 2000`,
      `sentinel failover-timeout ${name} 5000`,
      '',
    ].join('\n'),
  );
  const sentinel: ChildProcess = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  const admin = new Redis(sentinelPort, '127.0.0.1', { lazyConnect: true });
  try {
    await waitFor(() => probeTcp('127.0.0.1', sentinelPort, 200), { what: 'sentinel listening' });
    await admin.connect();
    // Ready once the sentinel has found the replica through the master (a failover needs one).
    await waitFor(
      async () => {
        const replicas = (await admin.call('SENTINEL', 'REPLICAS', name)) as string[][];
        return replicas.some((r) => r.includes(String(replica.port)) && !r.join(',').includes('s_down'));
      },
      { timeoutMs: 20_000, what: 'sentinel knows the replica' },
    );
  } finally {
    admin.disconnect();
  }
  return {
    name,
    masterPort: master.port,
    replicaPort: replica.port,
    sentinelPort,
    async stop() {
      sentinel.kill('SIGTERM');
      await Promise.allSettled([master.stop(), replica.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe.skipIf(!canSpawn)('redis broker across a Sentinel failover', () => {
  let set: SentinelSet;
  const brokers: RedisBroker[] = [];
  beforeAll(async () => {
    set = await startSentinelSet();
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled(brokers.map((b) => b.close()));
    await set?.stop();
  });

  it('keeps publishing and consuming on the promoted replica, and loses nothing published', async () => {
    const url = `redis+sentinel://127.0.0.1:${set.sentinelPort}/${set.name}`;
    const consumer = new RedisBroker({ url, ...fastRecovery });
    const producer = new RedisBroker({ url, ...fastRecovery });
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
        // As an application would: a publish refused during the switch is sent again.
        for (;;) {
          try {
            await producer.publish({ queue, message });
            break;
          } catch {
            await sleep(100);
          }
        }
        published.push(message.headers.id);
      }
    };
    await publish(20);
    await waitFor(() => published.every((id) => seen.has(id)), { what: 'deliveries before the failover' });

    const master = new Redis(set.masterPort, '127.0.0.1');
    // Replication is asynchronous: the replica has everything before it is promoted.
    await master.call('WAIT', '1', '5000');
    master.disconnect();
    const sentinel = new Redis(set.sentinelPort, '127.0.0.1');
    await sentinel.call('SENTINEL', 'FAILOVER', set.name);
    await waitFor(
      async () => {
        const [, port] = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', set.name)) as string[];
        return port === String(set.replicaPort);
      },
      { timeoutMs: 20_000, what: 'the replica promoted' },
    );
    sentinel.disconnect();

    await publish(20);
    await waitFor(() => published.every((id) => seen.has(id)), {
      timeoutMs: 30_000,
      what: 'every message delivered after the failover',
    });
    expect(published).toHaveLength(40);
    // Everything was settled on the new master: nothing is left held there.
    const promoted = new Redis(set.replicaPort, '127.0.0.1');
    await waitFor(async () => (await promoted.hlen('unacked')) === 0, {
      what: 'all acked on the new master',
    });
    expect(await promoted.llen(queue)).toBe(0);
    promoted.disconnect();
  }, 90_000);
});

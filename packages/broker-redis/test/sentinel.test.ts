import { createTaskMessage } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { describeBroker, uniqueName } from '@celeriac/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisBroker, redisBrokerCapabilities } from '../src/index.js';
import { fastRecovery } from './helpers.js';

const sentinels = process.env.CELERIAC_REDIS_SENTINELS ?? '127.0.0.1:26379';
const master = process.env.CELERIAC_REDIS_SENTINEL_MASTER ?? 'mymaster';
const url = `redis+sentinel://${sentinels}/${master}`;
const up = await requireService('redis-sentinel', url);

describe.skipIf(!up)('redis broker through Redis Sentinel', () => {
  const raw = new Redis({
    sentinels: sentinels.split(',').map((s) => ({ host: s.split(':')[0], port: Number(s.split(':')[1]) })),
    name: master,
    lazyConnect: true,
  });
  afterAll(() => raw.disconnect());

  it('writes to the master the sentinels name', async () => {
    const [host, port] = sentinels.split(',')[0]?.split(':') ?? [];
    const sentinel = new Redis(Number(port), host ?? '127.0.0.1');
    const [masterHost, masterPort] = (await sentinel.call(
      'SENTINEL',
      'get-master-addr-by-name',
      master,
    )) as string[];
    sentinel.disconnect();
    const direct = new Redis(Number(masterPort), masterHost ?? '127.0.0.1');
    const broker = new RedisBroker({ url, ...fastRecovery });
    const queue = uniqueName('sentinel');
    await broker.publish({ queue, message: createTaskMessage({ task: 't', priority: 9 }) });
    expect(await direct.llen(queue)).toBe(1);
    expect(await broker.purge(queue)).toBe(1);
    await broker.close();
    direct.disconnect();
  });

  describeBroker('redis-sentinel', {
    create: () => new RedisBroker({ url, ...fastRecovery }),
    capabilities: redisBrokerCapabilities,
    injectRaw: async (queue, text) => void (await raw.lpush(queue, text)),
    simulateCrash: (broker) => (broker as RedisBroker).destroy(),
    timing: { redeliveryAfterCrashMs: 4000 },
  });
});

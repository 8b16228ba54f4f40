import { requireService } from '@celeriac/test-services';
import { describeBroker } from '@celeriac/testkit';
import { Redis } from 'ioredis';
import { describe } from 'vitest';
import { type RedisBroker, redisBrokerCapabilities } from '../src/index.js';
import { cutCommandConnection, redisUrl, testBroker } from './helpers.js';

const up = await requireService('redis', redisUrl);

describe.skipIf(!up)('redis broker (single server)', () => {
  const raw = new Redis(redisUrl, { lazyConnect: true });
  describeBroker('redis', {
    create: () => testBroker(),
    capabilities: redisBrokerCapabilities,
    // A foreign producer: LPUSH straight onto the queue's list, as kombu does.
    injectRaw: async (queue, text) => void (await raw.lpush(queue, text)),
    simulateCrash: (broker) => (broker as RedisBroker).destroy(),
    interruptSettlement: cutCommandConnection,
    timing: { redeliveryAfterCrashMs: 4000 },
    cleanup: async () => void raw.disconnect(),
  });
});

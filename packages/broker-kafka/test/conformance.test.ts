import { requireService } from '@celeriac/test-services';
import { describeBroker } from '@celeriac/testkit';
import { describe } from 'vitest';
import { type KafkaBroker, kafkaBrokerCapabilities } from '../src/index.js';
import { kafkaUrl, testBroker, testTiming } from './kafka-env.js';

const up = await requireService('kafka', kafkaUrl);

describe.skipIf(!up)('kafka', () => {
  describeBroker('kafka', {
    // Four partitions split evenly between the suite's two competing consumers.
    create: () => testBroker({ partitions: 4 }),
    capabilities: kafkaBrokerCapabilities,
    injectRaw: async (queue, raw) => {
      const broker = testBroker();
      await broker.injectRaw(queue, raw).finally(() => broker.close());
    },
    simulateCrash: (broker) => (broker as KafkaBroker).simulateCrash(),
    timing: { redeliveryAfterCrashMs: testTiming.sessionTimeoutMs + 4_000 },
  });
});

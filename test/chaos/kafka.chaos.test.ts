import { requireService } from '@celeriac/test-services';
import { describeChaos } from './run-chaos.js';
import { kafkaBrokers, kafkaTarget } from './target-kafka.js';

// The run restarts and freezes the shared Kafka; test files run one at a time, and each fault
// waits until the broker serves again.
describeChaos({
  broker: 'kafka',
  adapter: '@celeriac/broker-kafka',
  available: await requireService('kafka', `kafka://${kafkaBrokers.join(',')}`),
  target: kafkaTarget,
});

import { celeriacProject } from '../../vitest.shared.js';

// One real Kafka broker shared by every file: files run one after another, and group joins and
// rebalances take seconds, hence the generous timeouts.
export default celeriacProject('broker-kafka', {
  fileParallelism: false,
  testTimeout: 60_000,
  hookTimeout: 60_000,
  env: { KAFKAJS_NO_PARTITIONER_WARNING: '1' },
});

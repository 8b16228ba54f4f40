import type { Scenario } from '../scenario-kit.js';
import { backlogScenario } from './backlog.js';
import { brokersScenario } from './brokers.js';
import { enqueueScenario } from './enqueue.js';
import { latencyScenario } from './latency.js';
import { rateLimitScenario } from './rate-limit.js';
import { redisCeilingScenario } from './redis-ceiling.js';
import { workerThroughputScenario } from './worker-throughput.js';

/** Every scenario, in report order. */
export const SCENARIOS: readonly Scenario[] = [
  enqueueScenario,
  workerThroughputScenario,
  latencyScenario,
  backlogScenario,
  brokersScenario,
  redisCeilingScenario,
  rateLimitScenario,
];

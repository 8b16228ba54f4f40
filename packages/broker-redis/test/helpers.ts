import { RedisBroker, type RedisBrokerOptions } from '../src/index.js';

/** The shared Redis of the test services. */
export const redisUrl = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Short timings so recovery shows within seconds. */
export const fastRecovery = {
  heartbeatIntervalMs: 250,
  consumerTimeoutMs: 1500,
  sweepIntervalMs: 300,
  pollFallbackMs: 500,
} satisfies RedisBrokerOptions;

/** A broker on the shared Redis with fast recovery, plus any overrides. */
export function testBroker(options: RedisBrokerOptions = {}): RedisBroker {
  return new RedisBroker({ url: redisUrl, ...fastRecovery, ...options });
}

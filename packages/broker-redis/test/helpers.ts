import type { Broker, TaskMessage } from '@celeriac/core';
import { waitFor } from '@celeriac/testkit';
import type { Redis } from 'ioredis';
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

/** The brokers one test file makes, closed together from its `afterEach`/`afterAll`. */
export function brokerPool(): {
  make(options?: RedisBrokerOptions): RedisBroker;
  closeAll(): Promise<void>;
} {
  const made: RedisBroker[] = [];
  return {
    make(options = {}) {
      const b = testBroker(options);
      made.push(b);
      return b;
    },
    async closeAll() {
      await Promise.allSettled(made.splice(0).map((b) => b.close()));
    },
  };
}

/**
 * Publishes as an application would while Redis restarts or fails over: a publish refused during
 * the switch is sent again, for up to 30 s.
 */
export function publishUntilAccepted(
  broker: RedisBroker,
  queue: string,
  message: TaskMessage,
): Promise<boolean> {
  return waitFor(
    () =>
      broker.publish({ queue, message }).then(
        () => true,
        () => false,
      ),
    {
      intervalMs: 100,
      timeoutMs: 30_000,
      what: 'the publish to be accepted',
    },
  );
}

/**
 * Cuts a broker's command connection, as a network failure would: commands fail at once until the
 * returned function connects it again.
 */
export async function cutCommandConnection(broker: Broker): Promise<() => Promise<void>> {
  const { client } = broker as unknown as { client: Redis };
  client.disconnect();
  return () => client.connect();
}

import { createResultBackend } from '@celeriac/backend-redis';
import { createBroker } from '@celeriac/broker-redis';
import type { Broker, ResultBackend } from '@celeriac/core';

/** Redis for both the queue and the results; `REDIS_URL` overrides the local default. */
export function connections(): { broker: Broker; backend: ResultBackend } {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  return { broker: createBroker(url), backend: createResultBackend(url) };
}

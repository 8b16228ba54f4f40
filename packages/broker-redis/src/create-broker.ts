import type { Broker } from '@celeriac/core';
import { RedisBroker } from './redis-broker.js';

/**
 * The factory the CLIs use to pick this adapter by URL scheme: `redis://`, `rediss://`,
 * `redis+sentinel://`, `redis+cluster://` (and their `rediss+` TLS forms). Anything else throws
 * a ConfigError.
 */
export function createBroker(url: string): Broker {
  return new RedisBroker({ url });
}

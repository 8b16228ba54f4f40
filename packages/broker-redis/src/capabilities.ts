import type { BrokerCapabilities } from '@celeriac/core';

/**
 * What the Redis broker supports: broker-held delays, kombu's four priority steps, dead letters
 * with redrive, and redelivery when a consumer dies (heartbeats + sweep). Messages are Redis
 * strings, so the limit is Redis' 512 MB.
 */
export const redisBrokerCapabilities: BrokerCapabilities = Object.freeze({
  delay: true,
  priority: true,
  priorityLevels: 4,
  deadLetter: true,
  redrive: true,
  redeliveryOnConsumerDeath: true,
  ordering: 'fifo',
  depth: true,
  purge: true,
  maxMessageBytes: 512 * 1024 * 1024,
});

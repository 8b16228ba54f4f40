/**
 * `@celeriac/broker-redis`: a Celeriac broker on Redis (single server, Sentinel, Cluster) that
 * shares queues with Python Celery through kombu's Redis layout.
 *
 * @packageDocumentation
 */
export { redisBrokerCapabilities } from './capabilities.js';
export {
  createControlTransport,
  type RedisControlOptions,
  RedisControlTransport,
} from './control-transport.js';
export { createBroker } from './create-broker.js';
export { decodeEnvelope, type EncodedEnvelope, encodeEnvelope } from './envelope.js';
export { createEventReceiver, decodeEventEnvelope, RedisEventReceiver } from './event-receiver.js';
export { createEventTransport, RedisEventTransport } from './event-transport.js';
export {
  assertQueueName,
  DEFAULT_DEAD_LETTER_LIMITS,
  type DeadLetterLimits,
  deadLetterKey,
  deadLettersDroppedKey,
  delayedKey,
  listKey,
  listKeys,
  PRIORITY_SEP,
  UNROUTABLE_QUEUE,
} from './keys.js';
export type { RedisBrokerOptions, RedisBrokerSettings } from './options.js';
export {
  fromWirePriority,
  PRIORITY_STEPS,
  type PriorityStep,
  stepForWire,
  toWirePriority,
} from './priority.js';
export { RedisBroker } from './redis-broker.js';
export { brokerSchemes, type ParsedRedisUrl, parseRedisUrl, type RedisTarget } from './url.js';

import type { BrokerCapabilities } from '@celeriac/core';

/** Default largest message, in bytes: Kafka's own default record-batch limit is about 1 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * What the Kafka adapter supports. Priority is not: Kafka has no per-message priority and this
 * adapter does not emulate it. Order holds per key (records with the same ordering key share a
 * partition); a retried or delayed record re-enters at the end.
 */
export const kafkaBrokerCapabilities: BrokerCapabilities = Object.freeze({
  delay: true,
  priority: false,
  priorityLevels: 1,
  deadLetter: true,
  redrive: true,
  redeliveryOnConsumerDeath: true,
  ordering: 'per-key',
  depth: true,
  purge: true,
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
});

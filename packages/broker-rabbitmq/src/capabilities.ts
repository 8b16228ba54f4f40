import type { BrokerCapabilities } from '@celeriac/core';

/**
 * Capabilities of the RabbitMQ broker in its default configuration (no `maxPriority`): queues
 * are declared as Celery declares them by default, without `x-max-priority`, so priorities are
 * not honoured. Use {@link rabbitmqCapabilities} for a configured broker; a broker instance
 * reports its own in `broker.capabilities`.
 */
export const rabbitmqBrokerCapabilities: BrokerCapabilities = Object.freeze({
  delay: true,
  priority: false,
  priorityLevels: 1,
  deadLetter: true,
  redrive: true,
  redeliveryOnConsumerDeath: true,
  ordering: 'fifo',
  depth: true,
  purge: true,
  // RabbitMQ 4's default max_message_size (3.x allows 128 MiB); raise with the maxMessageBytes option.
  maxMessageBytes: 16 * 1024 * 1024,
});

/**
 * Capabilities of a broker with the given options: priorities are honoured only when queues are
 * declared with `x-max-priority` (`maxPriority`), with `min(maxPriority, 9) + 1` distinct levels
 * of Celery's 0..9.
 */
export function rabbitmqCapabilities(
  options: { readonly maxPriority?: number | undefined; readonly maxMessageBytes?: number | undefined } = {},
): BrokerCapabilities {
  const { maxPriority, maxMessageBytes } = options;
  return Object.freeze({
    ...rabbitmqBrokerCapabilities,
    ...(maxPriority ? { priority: true, priorityLevels: Math.min(maxPriority, 9) + 1 } : {}),
    ...(maxMessageBytes ? { maxMessageBytes } : {}),
  });
}

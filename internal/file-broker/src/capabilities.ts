import type { BrokerCapabilities } from '@celeriac/core/adapter';

/** What the file broker supports, declared (never detected). */
export const fileBrokerCapabilities: BrokerCapabilities = Object.freeze({
  // Delayed messages wait in the queue's delayed/ directory until they are due.
  delay: true,
  // One ready/ directory per queue, read in name order: no priority levels.
  priority: false,
  priorityLevels: 1,
  deadLetter: true,
  redrive: true,
  // A consumer's lease file stops being refreshed when it dies; its held messages come back.
  redeliveryOnConsumerDeath: true,
  // File names sort by publish time (per producer process; across processes to the millisecond).
  ordering: 'fifo',
  depth: true,
  purge: true,
  maxMessageBytes: 16 * 1024 * 1024,
});

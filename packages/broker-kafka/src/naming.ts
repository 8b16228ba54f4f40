import { ConfigError } from '@celeriac/core';

/**
 * Topic and group names. A queue `q` owns the work topic `q`, one delay topic per tier
 * (`q.retry.<tier>`) and the dead-letter topic `q.dlq`; its consumers form the group
 * `<groupPrefix>q`.
 */

const LEGAL = /^[A-Za-z0-9._-]+$/;
/** Kafka's topic name limit minus room for the longest suffix the adapter appends. */
const MAX_QUEUE_NAME = 200;

/** Throws a {@link ConfigError} unless `queue` can name Kafka topics. */
export function assertQueueName(queue: string): void {
  if (!LEGAL.test(queue) || queue === '.' || queue === '..' || queue.length > MAX_QUEUE_NAME) {
    throw new ConfigError(
      `queue name ${JSON.stringify(queue)} cannot name a Kafka topic: use 1-${MAX_QUEUE_NAME} characters of [A-Za-z0-9._-]`,
    );
  }
}

/** `1s`, `30s`, `2m`, `1h`, or `<n>ms` when the delay is not a whole unit. */
export function tierLabel(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** The names one queue uses. */
export interface QueueTopics {
  readonly queue: string;
  readonly work: string;
  readonly dlq: string;
  readonly group: string;
  /** Delay-tier topics, shortest delay first. */
  readonly tiers: readonly { readonly delayMs: number; readonly topic: string }[];
}

/** Every topic and group name of `queue`. */
export function queueTopics(queue: string, groupPrefix: string, tiersMs: readonly number[]): QueueTopics {
  assertQueueName(queue);
  return {
    queue,
    work: queue,
    dlq: `${queue}.dlq`,
    group: `${groupPrefix}${queue}`,
    tiers: tiersMs.map((delayMs) => ({ delayMs, topic: `${queue}.retry.${tierLabel(delayMs)}` })),
  };
}

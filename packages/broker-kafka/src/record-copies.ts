import type { DeadLetterReason } from '@celeriac/core';
import { pickTier } from './delay-tiers.js';
import {
  DELIVERY_COUNT_HEADER,
  DLQ_AT_HEADER,
  DLQ_CODE_HEADER,
  DLQ_MESSAGE_HEADER,
  DLQ_SOURCE_HEADER,
  DUE_AT_HEADER,
  withHeaders,
} from './headers.js';
import type { QueueTopics } from './naming.js';
import { republish } from './record-codec.js';
import type { ProduceRecord, TransportRecord } from './transport/types.js';

/**
 * The copy of a handed-out record that a requeue publishes: back on the work topic, or through
 * the delay tier that fits `delayMs` with the time it is due, counting this delivery.
 */
export function requeueCopy(
  topics: QueueTopics,
  record: TransportRecord,
  deliveryCount: number,
  delayMs: number,
): ProduceRecord {
  const delayed = delayMs > 0;
  const headers = withHeaders(record.headers, {
    [DELIVERY_COUNT_HEADER]: String(deliveryCount),
    [DUE_AT_HEADER]: delayed ? String(Date.now() + delayMs) : undefined,
  });
  if (!delayed) return republish(record, topics.work, headers);
  const tierMs = pickTier(
    topics.tiers.map((t) => t.delayMs),
    delayMs,
  );
  const tier = topics.tiers.find((t) => t.delayMs === tierMs) ?? topics.tiers[0];
  return republish(record, tier?.topic ?? topics.work, headers);
}

/** The copy of a handed-out record for the dead-letter topic, with the reason and where it came from. */
export function deadLetterCopy(
  topics: QueueTopics,
  record: TransportRecord,
  deliveryCount: number,
  reason: DeadLetterReason,
): ProduceRecord {
  const headers = withHeaders(record.headers, {
    [DELIVERY_COUNT_HEADER]: String(deliveryCount),
    [DUE_AT_HEADER]: undefined,
    [DLQ_CODE_HEADER]: reason.code,
    [DLQ_MESSAGE_HEADER]: reason.message,
    [DLQ_AT_HEADER]: new Date().toISOString(),
    [DLQ_SOURCE_HEADER]: `${record.topic}/${record.partition}/${record.offset}`,
  });
  return republish(record, topics.dlq, headers);
}

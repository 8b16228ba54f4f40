import type { DeadLetter } from '@celeriac/core';
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
import { produceInChunks } from './produce-chunks.js';
import { rawText, republish } from './record-codec.js';
import type { KafkaTransport, TransportRecord } from './transport/types.js';

/** Kafka's smallest segment size (`segment.bytes`). */
const MIN_SEGMENT_BYTES = 1024 * 1024;

/**
 * Configuration of a dead-letter topic: kept without a time limit, but bounded in size. Kafka drops
 * whole segments, oldest first, once the topic holds more than `retentionBytes`; segments of an
 * eighth of it make that drop small and keep the newest dead letters.
 */
export function deadLetterTopicConfig(
  maxMessageBytes: number,
  retentionBytes: number,
): Record<string, string> {
  const segment = Math.max(MIN_SEGMENT_BYTES, Math.floor(retentionBytes / 8));
  return {
    'max.message.bytes': String(maxMessageBytes),
    'retention.ms': '-1',
    'retention.bytes': String(retentionBytes),
    'segment.bytes': String(segment),
  };
}

/** Most dead letters one redrive reads per partition (a redrive of more takes several calls). */
const REDRIVE_BATCH = 100_000;

function toDeadLetter(queue: string, record: TransportRecord): DeadLetter {
  const at = Date.parse(record.headers[DLQ_AT_HEADER] ?? '');
  return {
    queue,
    reason: {
      code: record.headers[DLQ_CODE_HEADER] ?? 'UNKNOWN',
      message: record.headers[DLQ_MESSAGE_HEADER] ?? '',
    },
    raw: rawText(record),
    at: new Date(Number.isNaN(at) ? record.timestamp : at),
  };
}

/** Dead letters of a queue, oldest first: the dead-letter topic read from its start. */
export async function readDeadLetters(
  transport: KafkaTransport,
  topics: QueueTopics,
  limit: number,
): Promise<DeadLetter[]> {
  const records = await transport.readAll(topics.dlq, limit);
  return records
    .map((r) => ({ r, d: toDeadLetter(topics.queue, r) }))
    .sort(
      (a, b) =>
        a.d.at.getTime() - b.d.at.getTime() || a.r.partition - b.r.partition || a.r.offset - b.r.offset,
    )
    .slice(0, limit)
    .map((x) => x.d);
}

/**
 * Moves dead letters back onto their queue: re-publishes each with its original headers (delivery
 * count reset), then deletes what was moved from the dead-letter topic (Kafka DeleteRecords).
 * Two redrives of one queue at the same time would both re-publish: run one at a time.
 */
export async function redriveDeadLetters(
  transport: KafkaTransport,
  topics: QueueTopics,
  maxBytes: number,
): Promise<number> {
  const records = await transport.readAll(topics.dlq, REDRIVE_BATCH);
  if (records.length === 0) return 0;
  records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  const copies = records.map((r) =>
    republish(
      r,
      topics.work,
      withHeaders(r.headers, {
        [DLQ_CODE_HEADER]: undefined,
        [DLQ_MESSAGE_HEADER]: undefined,
        [DLQ_AT_HEADER]: undefined,
        [DLQ_SOURCE_HEADER]: undefined,
        [DELIVERY_COUNT_HEADER]: undefined,
        [DUE_AT_HEADER]: undefined,
      }),
    ),
  );
  await produceInChunks(transport, copies, maxBytes);
  const ends = new Map<number, number>();
  for (const r of records) ends.set(r.partition, Math.max(ends.get(r.partition) ?? 0, r.offset + 1));
  await transport.deleteRecords(
    topics.dlq,
    [...ends].map(([partition, offset]) => ({ partition, offset })),
  );
  return records.length;
}

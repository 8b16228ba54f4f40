import type { TransportRecord } from './transport/types.js';

/**
 * Kafka header names the adapter adds next to the Celery headers. Celery header names are
 * identifiers without dots, so the `celeriac.` prefix cannot collide with them.
 */
export const META_PREFIX = 'celeriac.';
/**
 * The Celery headers and properties of a task record as one JSON object,
 * `{"headers": {…}, "properties": {…}}` (kombu JSON, so type tags survive): one Kafka header
 * instead of one per Celery header, because kafkajs pays for every header of every record.
 */
export const ENVELOPE_HEADER = 'celeriac.envelope';
/**
 * The Celery message properties as JSON, in the older layout that carried each Celery header in a
 * Kafka header of its own. Still read, so records already on a topic decode; no longer written.
 */
export const PROPERTIES_HEADER = 'celeriac.properties';
/** How many times the message was delivered before this copy was published (absent: 0). */
export const DELIVERY_COUNT_HEADER = 'celeriac.delivery-count';
/** When a delayed record is due, in ms since the epoch. */
export const DUE_AT_HEADER = 'celeriac.due-at';
/** Dead-letter reason code, message, time (ISO-8601) and source (`topic/partition/offset`). */
export const DLQ_CODE_HEADER = 'celeriac.dlq.code';
export const DLQ_MESSAGE_HEADER = 'celeriac.dlq.message';
export const DLQ_AT_HEADER = 'celeriac.dlq.at';
export const DLQ_SOURCE_HEADER = 'celeriac.dlq.source';

/** Whether a header is the adapter's own rather than a Celery header. */
export function isMetaHeader(name: string): boolean {
  return name.startsWith(META_PREFIX);
}

/** Splits record headers into Celery headers and the adapter's own. */
export function splitHeaders(headers: Readonly<Record<string, string>>): {
  celery: Record<string, string>;
  meta: Record<string, string>;
} {
  const celery: Record<string, string> = {};
  const meta: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name] as string;
    if (isMetaHeader(name)) meta[name] = value;
    else celery[name] = value;
  }
  return { celery, meta };
}

/** A copy of `headers` with `set` applied; `undefined` values remove a header. */
export function withHeaders(
  headers: Readonly<Record<string, string>>,
  set: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = { ...headers };
  for (const [name, value] of Object.entries(set)) {
    if (value === undefined) delete out[name];
    else out[name] = value;
  }
  return out;
}

/** Previous deliveries as the {@link DELIVERY_COUNT_HEADER} value says (0 when absent or garbled). */
export function deliveryCountOf(value: string | undefined): number {
  if (value === undefined) return 0;
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** One header of a record, through its single-header accessor when the transport offers one. */
export function headerOf(
  record: Pick<TransportRecord, 'headers' | 'header'>,
  name: string,
): string | undefined {
  return record.header ? record.header(name) : record.headers[name];
}

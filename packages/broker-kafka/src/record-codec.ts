import { DecodeError, type TaskMessage } from '@celeriac/core';
import {
  type DecodedMessage,
  decodeJson,
  decodeOrMalformed,
  decodeTaskMessage,
  encodeBody,
  type OutgoingMessage,
} from '@celeriac/core/adapter';
import { encodeEnvelope } from './envelope.js';
import { ENVELOPE_HEADER, headerOf, PROPERTIES_HEADER, splitHeaders } from './headers.js';
import type { ProduceRecord, TransportRecord } from './transport/types.js';

/**
 * The wire mapping: one task message is one record. The Celery headers and properties travel
 * together as kombu JSON in one Kafka header, `celeriac.envelope` (`{"headers", "properties"}`,
 * without the values that are Celery's defaults),
 * the value is the body `[args, kwargs, embed]` as kombu JSON, and the key is the ordering key or
 * else the task id. `meta` adds the adapter's own headers (due time, delivery count).
 */
export function encodeTaskRecord(
  topic: string,
  item: OutgoingMessage,
  meta: Record<string, string> = {},
): ProduceRecord {
  const { headers, properties } = item.message;
  return {
    topic,
    key: item.orderingKey ?? headers.id,
    value: encodeBody(item.message),
    headers: { [ENVELOPE_HEADER]: encodeEnvelope(headers, properties), ...meta },
  };
}

function parseLoose(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function decodeHeaderValue(text: string): unknown {
  try {
    // Only kombu type tags need the reviving decoder; plain values parse faster without it.
    return text.includes('__type__') ? decodeJson(text) : JSON.parse(text);
  } catch {
    // A foreign producer may send plain strings.
    return text;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The headers and properties of a good envelope with the defaults it leaves out filled back in. */
function fullEnvelope(
  envelope: string,
  body: string,
): Pick<TaskMessage, 'headers' | 'properties'> | undefined {
  try {
    const { headers, properties } = decodeEnveloped(envelope, body);
    return { headers, properties };
  } catch {
    return undefined;
  }
}

/**
 * A record as text for dead letters and malformed deliveries: the value alone when the record has
 * no Celery headers, else `{headers, properties, body}` as JSON (with the defaults the envelope
 * leaves out filled back in when it decodes), so the task id stays visible.
 */
export function rawText(record: Pick<TransportRecord, 'headers' | 'value'>): string {
  const text = record.value?.toString('utf8') ?? '';
  const envelope = record.headers[ENVELOPE_HEADER];
  if (envelope !== undefined) {
    const full = fullEnvelope(envelope, text);
    if (full) return JSON.stringify({ ...full, body: parseLoose(text) });
    const parsed = parseLoose(envelope);
    const headers = isObject(parsed) ? (parsed.headers ?? {}) : parsed;
    const properties = isObject(parsed) ? (parsed.properties ?? {}) : {};
    return JSON.stringify({ headers, properties, body: parseLoose(text) });
  }
  const { celery, meta } = splitHeaders(record.headers);
  if (Object.keys(celery).length === 0) return text;
  const headers = Object.fromEntries(Object.entries(celery).map(([k, v]) => [k, parseLoose(v)]));
  const properties = meta[PROPERTIES_HEADER] === undefined ? {} : parseLoose(meta[PROPERTIES_HEADER]);
  return JSON.stringify({ headers, properties, body: parseLoose(text) });
}

/** kombu's own Kafka transport puts a JSON envelope in the value, with a base64 body. */
function decodeKombuEnvelope(envelope: Record<string, unknown>): TaskMessage {
  const properties = isObject(envelope.properties) ? envelope.properties : {};
  const body =
    properties.body_encoding === 'base64' && typeof envelope.body === 'string'
      ? Buffer.from(envelope.body, 'base64').toString('utf8')
      : envelope.body;
  const contentType = typeof envelope['content-type'] === 'string' ? envelope['content-type'] : undefined;
  return decodeTaskMessage({ headers: envelope.headers, properties, body, contentType });
}

function contentTypeOf(properties: Record<string, unknown> | undefined): string | undefined {
  return typeof properties?.content_type === 'string' ? properties.content_type : undefined;
}

/** The current layout: Celery headers and properties in one JSON header. */
function decodeEnveloped(envelope: string, body: string): TaskMessage {
  const parsed = decodeJson(envelope);
  if (!isObject(parsed)) throw new DecodeError(`the ${ENVELOPE_HEADER} header is not a JSON object`);
  const properties = isObject(parsed.properties) ? parsed.properties : undefined;
  return decodeTaskMessage({
    // Absent headers hold their protocol default: decoding fills them in, in one fixed layout.
    headers: parsed.headers,
    properties,
    body,
    contentType: contentTypeOf(properties),
  });
}

/** The older layout: one Kafka header per Celery header, properties in `celeriac.properties`. */
function decodeHeaderPerField(
  headers: Readonly<Record<string, string>>,
  body: string,
): TaskMessage | undefined {
  const { celery, meta } = splitHeaders(headers);
  if (!('task' in celery || 'id' in celery)) return undefined;
  const decoded: Record<string, unknown> = {};
  for (const name in celery) decoded[name] = decodeHeaderValue(celery[name] as string);
  const props = meta[PROPERTIES_HEADER] === undefined ? undefined : parseLoose(meta[PROPERTIES_HEADER]);
  const properties = isObject(props) ? props : undefined;
  return decodeTaskMessage({ headers: decoded, properties, body, contentType: contentTypeOf(properties) });
}

/** What decoding reads of a record: its headers (one at a time when it can) and value. */
export type RecordParts = Pick<TransportRecord, 'headers' | 'value' | 'header'>;

/** The task message of a consumed record; throws when it is none. */
function decodeRecordMessage(record: RecordParts): TaskMessage {
  const text = record.value?.toString('utf8') ?? '';
  const envelope = headerOf(record, ENVELOPE_HEADER);
  if (envelope !== undefined) return decodeEnveloped(envelope, text);
  const legacy = decodeHeaderPerField(record.headers, text);
  if (legacy) return legacy;
  const parsed = parseLoose(text);
  if (isObject(parsed) && 'body' in parsed && isObject(parsed.headers) && isObject(parsed.properties)) {
    return decodeKombuEnvelope(parsed);
  }
  // No headers: only a protocol v1 body (task name inside) can still be a task.
  return decodeTaskMessage({ headers: {}, body: text });
}

/**
 * Decodes a consumed record into a Celery task message: the `celeriac.envelope` layout, the older
 * header-per-field layout, kombu's own Kafka envelope, or a bare protocol v1 body. Anything else is
 * a malformed message carrying the record as text.
 */
export function decodeRecord(record: RecordParts): DecodedMessage {
  return decodeOrMalformed(record, decodeRecordMessage, rawText, 'record is not a task message');
}

/** A record re-published elsewhere (requeue, delay hop, dead letter, redrive) with header changes. */
export function republish(
  record: Pick<TransportRecord, 'headers' | 'value' | 'key'>,
  topic: string,
  headers: Record<string, string>,
): ProduceRecord {
  return { topic, key: record.key, value: record.value, headers };
}

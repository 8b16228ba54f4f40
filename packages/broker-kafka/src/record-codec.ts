import {
  DecodeError,
  decodeJson,
  decodeTaskMessage,
  encodeBody,
  encodeJson,
  type OutgoingMessage,
  type TaskMessage,
} from '@celeriac/core';
import { PROPERTIES_HEADER, splitHeaders } from './headers.js';
import type { ProduceRecord, TransportRecord } from './transport/types.js';

/**
 * The wire mapping: one task message is one record. Each Celery header becomes a Kafka header
 * whose value is JSON (so numbers, nulls and lists survive), the properties travel as JSON in
 * `celeriac.properties`, the value is the body `[args, kwargs, embed]` as kombu JSON, and the key is
 * the ordering key or else the task id.
 */
export function encodeTaskRecord(
  topic: string,
  item: OutgoingMessage,
  meta: Record<string, string> = {},
): ProduceRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(item.message.headers)) {
    if (value !== undefined) headers[name] = encodeJson(value);
  }
  headers[PROPERTIES_HEADER] = encodeJson(item.message.properties);
  return {
    topic,
    key: item.orderingKey ?? item.message.headers.id,
    value: encodeBody(item.message),
    headers: { ...headers, ...meta },
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

/**
 * A record as text for dead letters and malformed deliveries: the value alone when the record has
 * no Celery headers, else `{headers, properties, body}` as JSON, so the task id stays visible.
 */
export function rawText(record: Pick<TransportRecord, 'headers' | 'value'>): string {
  const text = record.value?.toString('utf8') ?? '';
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

/** A record decoded as a task, or the reason it could not be. */
export type DecodedRecord =
  | { readonly kind: 'task'; readonly message: TaskMessage }
  | { readonly kind: 'malformed'; readonly raw: string; readonly error: DecodeError };

/** Decodes a consumed record into a Celery task message (v2 headers, or v1 / kombu bodies). */
export function decodeRecord(record: Pick<TransportRecord, 'headers' | 'value'>): DecodedRecord {
  const text = record.value?.toString('utf8') ?? '';
  const { celery, meta } = splitHeaders(record.headers);
  try {
    if ('task' in celery || 'id' in celery) {
      const headers = Object.fromEntries(Object.entries(celery).map(([k, v]) => [k, decodeHeaderValue(v)]));
      const props = meta[PROPERTIES_HEADER] === undefined ? undefined : parseLoose(meta[PROPERTIES_HEADER]);
      const properties = isObject(props) ? props : undefined;
      const contentType = typeof properties?.content_type === 'string' ? properties.content_type : undefined;
      return { kind: 'task', message: decodeTaskMessage({ headers, properties, body: text, contentType }) };
    }
    const parsed = parseLoose(text);
    if (isObject(parsed) && 'body' in parsed && isObject(parsed.headers) && isObject(parsed.properties)) {
      return { kind: 'task', message: decodeKombuEnvelope(parsed) };
    }
    // No headers: only a protocol v1 body (task name inside) can still be a task.
    return { kind: 'task', message: decodeTaskMessage({ headers: {}, body: text }) };
  } catch (error) {
    const decodeError =
      error instanceof DecodeError
        ? error
        : new DecodeError('record is not a task message', { cause: error });
    return { kind: 'malformed', raw: rawText(record), error: decodeError };
  }
}

/** A record re-published elsewhere (requeue, delay hop, dead letter, redrive) with header changes. */
export function republish(
  record: Pick<TransportRecord, 'headers' | 'value' | 'key'>,
  topic: string,
  headers: Record<string, string>,
): ProduceRecord {
  return { topic, key: record.key, value: record.value, headers };
}

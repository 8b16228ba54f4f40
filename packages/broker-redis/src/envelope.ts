import { randomUUID } from 'node:crypto';
import { DecodeError, decodeTaskMessage, encodeBody, type TaskMessage } from '@celeriac/core';
import { fromWirePriority, type PriorityStep, stepForWire, toWirePriority } from './priority.js';

/** A message encoded as kombu stores it in a Redis list. */
export interface EncodedEnvelope {
  /** The JSON text pushed onto the list. */
  readonly raw: string;
  /** The priority list it belongs to. */
  readonly step: PriorityStep;
  /** `properties.delivery_tag`, unique per publish. */
  readonly deliveryTag: string;
}

/**
 * Builds kombu's Redis envelope: body base64 of the v2 body JSON, hyphenated content keys, and the
 * properties a Python worker requires (`delivery_tag`, `body_encoding`, `delivery_info`).
 * `properties.priority` carries the kombu (Redis) value, where 0 is served first.
 */
export function encodeEnvelope(queue: string, message: TaskMessage): EncodedEnvelope {
  const wire = toWirePriority(message.properties.priority);
  const deliveryTag = randomUUID();
  const envelope = {
    body: Buffer.from(encodeBody(message), 'utf8').toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: message.headers,
    properties: {
      correlation_id: message.properties.correlation_id,
      reply_to: message.properties.reply_to,
      delivery_mode: message.properties.delivery_mode,
      delivery_info: { exchange: '', routing_key: queue },
      priority: wire,
      body_encoding: 'base64',
      delivery_tag: deliveryTag,
    },
  };
  return { raw: JSON.stringify(envelope), step: stepForWire(wire), deliveryTag };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Decodes an envelope taken from a list, from either side: base64 bodies (`body_encoding:
 * "base64"`) and raw JSON bodies (no `body_encoding`) are both accepted, as kombu does. The kombu
 * priority is turned back into core priority. Throws {@link DecodeError}.
 */
export function decodeEnvelope(raw: string): TaskMessage {
  let envelope: unknown;
  try {
    envelope = JSON.parse(raw);
  } catch (error) {
    throw new DecodeError('message is not a JSON envelope', { cause: error });
  }
  if (!isObject(envelope)) throw new DecodeError('message is not a JSON object envelope');
  const properties = isObject(envelope.properties) ? envelope.properties : {};
  let body = envelope.body;
  if (properties.body_encoding === 'base64') {
    if (typeof body !== 'string') throw new DecodeError('base64 body is not a string');
    body = Buffer.from(body, 'base64').toString('utf8');
  }
  const contentType = envelope['content-type'];
  const contentEncoding = envelope['content-encoding'];
  return decodeTaskMessage({
    headers: envelope.headers,
    properties: { ...properties, priority: fromWirePriority(properties.priority) },
    body,
    contentType: typeof contentType === 'string' ? contentType : undefined,
    contentEncoding: typeof contentEncoding === 'string' ? contentEncoding : undefined,
  });
}

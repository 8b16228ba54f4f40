import { randomUUID } from 'node:crypto';
import { DecodeError, type TaskMessage } from '@celeriac/core';
import { decodeTaskMessage, encodeBody } from '@celeriac/core/adapter';
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

/** Queue names seen so far, as JSON strings: the routing key is the same for every message. */
const quotedQueues = new Map<string, string>();

function quotedQueue(queue: string): string {
  let quoted = quotedQueues.get(queue);
  if (quoted === undefined) {
    quoted = JSON.stringify(queue);
    // Bounded, in case a producer makes up queue names as it goes.
    if (quotedQueues.size >= 1024) quotedQueues.clear();
    quotedQueues.set(queue, quoted);
  }
  return quoted;
}

/** `JSON.stringify` of a value, or `undefined` for a value JSON leaves out. */
function json(value: unknown): string | undefined {
  return JSON.stringify(value) as string | undefined;
}

/** Strings JSON writes as they are between quotes (ids, empty strings): no escaping to do. */
const PLAIN = /^[\w.:@/+-]*$/;

/** {@link json} for a property that is normally a plain string, without calling the serialiser. */
function quote(value: unknown): string | undefined {
  return typeof value === 'string' && PLAIN.test(value) ? `"${value}"` : json(value);
}

/**
 * Builds kombu's Redis envelope: body base64 of the v2 body JSON, hyphenated content keys, and the
 * properties a Python worker requires (`delivery_tag`, `body_encoding`, `delivery_info`).
 * `properties.priority` carries the kombu (Redis) value, where 0 is served first.
 */
export function encodeEnvelope(queue: string, message: TaskMessage): EncodedEnvelope {
  const { properties } = message;
  const wire = toWirePriority(properties.priority);
  const deliveryTag = randomUUID();
  const body = Buffer.from(encodeBody(message), 'utf8').toString('base64');
  const headers = json(message.headers);
  const correlationId = quote(properties.correlation_id);
  const replyTo = quote(properties.reply_to);
  const mode = properties.delivery_mode;
  let raw: string;
  if (
    headers !== undefined &&
    correlationId !== undefined &&
    replyTo !== undefined &&
    (mode === 1 || mode === 2)
  ) {
    // The text JSON.stringify would give for the object below, without building the object: every
    // part but the headers is known here, and this runs once per message published.
    raw =
      `{"body":"${body}","content-encoding":"utf-8","content-type":"application/json","headers":${headers},` +
      `"properties":{"correlation_id":${correlationId},"reply_to":${replyTo},"delivery_mode":${mode},` +
      `"delivery_info":{"exchange":"","routing_key":${quotedQueue(queue)}},"priority":${wire},` +
      `"body_encoding":"base64","delivery_tag":"${deliveryTag}"}}`;
  } else {
    raw = JSON.stringify({
      body,
      'content-encoding': 'utf-8',
      'content-type': 'application/json',
      headers: message.headers,
      properties: {
        correlation_id: properties.correlation_id,
        reply_to: properties.reply_to,
        delivery_mode: properties.delivery_mode,
        delivery_info: { exchange: '', routing_key: queue },
        priority: wire,
        body_encoding: 'base64',
        delivery_tag: deliveryTag,
      },
    });
  }
  return { raw, step: stepForWire(wire), deliveryTag };
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
  // The parsed object is ours alone: set the core priority in place rather than copy it.
  properties.priority = fromWirePriority(properties.priority);
  return decodeTaskMessage({
    headers: envelope.headers,
    properties,
    body,
    contentType: typeof contentType === 'string' ? contentType : undefined,
    contentEncoding: typeof contentEncoding === 'string' ? contentEncoding : undefined,
  });
}

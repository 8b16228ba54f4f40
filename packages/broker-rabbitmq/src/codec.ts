import type { TaskMessage } from '@celeriac/core';
import { encodeBody, parseCeleryDate, type WireParts } from '@celeriac/core/adapter';
import type { Message, Options } from 'amqplib';
import {
  DEAD_LETTER_EXCHANGE,
  delayEntryLevel,
  delayLevelName,
  delayRoutingKey,
  delayTier,
} from './names.js';

/** Header carrying how many times a message was delivered before this copy was published. */
export const DELIVERY_COUNT_HEADER = 'x-celeriac-delivery-count';
/** Headers recording why and when a message was dead-lettered. */
export const DEAD_LETTER_HEADERS = {
  code: 'x-celeriac-dead-letter-code',
  message: 'x-celeriac-dead-letter-message',
  at: 'x-celeriac-dead-letter-at',
} as const;

/** What must be declared before a publish can be routed. */
export type TopologyNeed =
  | { readonly kind: 'queue'; readonly queue: string }
  /** The queue's delay chain, declared up to level `tier`. */
  | { readonly kind: 'delay'; readonly queue: string; readonly tier: number }
  | { readonly kind: 'dead-letter'; readonly queue: string }
  /** Celery's `celeryev` topic exchange; events are best-effort, unroutable when nobody listens. */
  | { readonly kind: 'events' };

/** The cache key of a topology need, per connection. */
export function topologyKey(needs: TopologyNeed): string {
  switch (needs.kind) {
    case 'queue':
      return `queue:${needs.queue}`;
    case 'delay':
      return `delay:${needs.queue}:${needs.tier}`;
    case 'dead-letter':
      return `dlq:${needs.queue}`;
    case 'events':
      return 'events';
  }
}

/** One basic.publish, ready to send. */
export interface PublishSpec {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: Options.Publish;
  readonly needs: TopologyNeed;
  /** Delayed: when the message is due (epoch ms). The route is recomputed at send time from it. */
  readonly dueAt?: number;
}

/** AMQP field tables carry JSON-like values only; drop `undefined` and anything JSON cannot say. */
function plainHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(headers)) as Record<string, unknown>;
}

/**
 * Maps a task message to AMQP as kombu's py-amqp transport does (celery-protocol §3.2): the body
 * is the raw UTF-8 JSON `[args, kwargs, embed]`, the task headers are the application headers,
 * and content type, encoding, delivery mode, priority, correlation id and reply-to are basic
 * properties. With `withExpiration`, `expiration` (ms) is set when the task expires, as Celery does.
 */
export function taskPublishOptions(
  message: TaskMessage,
  withExpiration: boolean,
  now = Date.now(),
): Options.Publish {
  const { properties } = message;
  const options: Options.Publish = {
    headers: plainHeaders(message.headers),
    contentType: properties.content_type,
    contentEncoding: properties.content_encoding,
    deliveryMode: properties.delivery_mode,
    ...(properties.priority === null ? {} : { priority: properties.priority }),
    correlationId: properties.correlation_id,
    replyTo: properties.reply_to,
  };
  const expires = withExpiration ? parseCeleryDate(message.headers.expires) : null;
  if (expires) options.expiration = String(Math.max(0, expires.getTime() - now));
  return options;
}

/** A publish of a task message onto a queue, straight or through its delay chain. */
export function taskPublishSpec(
  queue: string,
  message: TaskMessage,
  delayMs: number,
  withExpiration: boolean,
): PublishSpec {
  const content = Buffer.from(encodeBody(message), 'utf8');
  const options = taskPublishOptions(message, withExpiration);
  return routeSpec(queue, content, options, delayMs);
}

/**
 * Routes a body with its options: to the default exchange with the queue name as routing key
 * (Celery's default route, §1.9), or into the queue's delay chain at the level of the delay's
 * highest bit. A delayed message carries no `expiration`: RabbitMQ would expire it inside the
 * chain and strip the property on the way, so the worker's `expires` check is what applies.
 */
export function routeSpec(
  queue: string,
  content: Buffer,
  options: Options.Publish,
  delayMs: number,
  now = Date.now(),
): PublishSpec {
  if (delayMs <= 0)
    return { exchange: '', routingKey: queue, content, options, needs: { kind: 'queue', queue } };
  const { expiration: _dropped, ...rest } = options;
  const level = delayEntryLevel(delayMs);
  return {
    exchange: delayLevelName(queue, level),
    routingKey: delayRoutingKey(delayMs),
    content,
    options: rest,
    needs: { kind: 'delay', queue, tier: delayTier(level) },
    dueAt: now + delayMs,
  };
}

/**
 * The route of a delayed publish at the moment it is sent: the delay counts from the publish
 * call, so time spent waiting (declaring the chain, reconnecting) is taken off, and a message
 * already due goes straight to its queue.
 */
export function routeAtSend(spec: PublishSpec, now = Date.now()): PublishSpec {
  if (spec.dueAt === undefined || spec.needs.kind !== 'delay') return spec;
  const remaining = Math.ceil(spec.dueAt - now);
  const { queue } = spec.needs;
  if (remaining <= 0) return { ...spec, exchange: '', routingKey: queue, needs: { kind: 'queue', queue } };
  return {
    ...spec,
    exchange: delayLevelName(queue, delayEntryLevel(remaining)),
    routingKey: delayRoutingKey(remaining),
  };
}

/** The headers this adapter adds in transit (other `x-celeriac-*` headers are the task's own). */
const ADAPTER_HEADERS: ReadonlySet<string> = new Set([
  DELIVERY_COUNT_HEADER,
  ...Object.values(DEAD_LETTER_HEADERS),
]);

/**
 * Headers RabbitMQ or this adapter add in transit; never part of the task's own headers. Only the
 * adapter's own: core's `x-celeriac-*` headers (retry policy, result expiry, signature) travel with
 * the task.
 */
export function isTransportHeader(name: string): boolean {
  return (
    ADAPTER_HEADERS.has(name) ||
    name === 'x-delivery-count' ||
    name === 'x-death' ||
    /^x-(first|last)-death-/.test(name)
  );
}

/** The message's application headers without transport bookkeeping. */
export function taskHeadersOf(msg: Message): Record<string, unknown> {
  const headers = msg.properties.headers ?? {};
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!isTransportHeader(name)) out[name] = value;
  }
  return out;
}

/** Basic properties in Celery's snake_case naming, only those present. */
export function propertiesOf(msg: Message): Record<string, unknown> {
  const p = msg.properties;
  const out: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined && value !== null) out[key] = value;
  };
  set('content_type', p.contentType);
  set('content_encoding', p.contentEncoding);
  set('correlation_id', p.correlationId);
  set('reply_to', p.replyTo);
  set('delivery_mode', p.deliveryMode);
  set('priority', p.priority);
  set('expiration', p.expiration);
  set('message_id', p.messageId);
  return out;
}

/** Hands a received message to the core decoder: headers, properties and the body text. */
export function wirePartsOf(msg: Message): WireParts {
  return {
    headers: taskHeadersOf(msg),
    properties: propertiesOf(msg),
    body: msg.content.toString('utf8'),
    contentType: typeof msg.properties.contentType === 'string' ? msg.properties.contentType : undefined,
    contentEncoding:
      typeof msg.properties.contentEncoding === 'string' ? msg.properties.contentEncoding : undefined,
  };
}

/** The message as received, undecoded, as one JSON text: headers, properties and the body text. */
export function rawEnvelope(msg: Message): string {
  return JSON.stringify({
    headers: taskHeadersOf(msg),
    properties: propertiesOf(msg),
    body: msg.content.toString('utf8'),
  });
}

/**
 * Options to publish a received message again (requeue with delay, dead letter, redrive): the
 * same properties and headers, with `extra` headers set and transport bookkeeping removed.
 * `userId` is left out: RabbitMQ refuses it unless it names the publishing user.
 */
export function republishOptions(msg: Message, extra: Record<string, unknown> = {}): Options.Publish {
  const p = msg.properties;
  const options: Options.Publish = { headers: { ...taskHeadersOf(msg), ...extra } };
  if (p.contentType !== undefined) options.contentType = p.contentType;
  if (p.contentEncoding !== undefined) options.contentEncoding = p.contentEncoding;
  if (p.deliveryMode !== undefined) options.deliveryMode = p.deliveryMode;
  if (p.priority !== undefined) options.priority = p.priority;
  if (p.correlationId !== undefined) options.correlationId = p.correlationId;
  if (p.replyTo !== undefined) options.replyTo = p.replyTo;
  if (p.expiration !== undefined) options.expiration = p.expiration;
  if (p.messageId !== undefined) options.messageId = p.messageId;
  if (p.timestamp !== undefined) options.timestamp = p.timestamp;
  if (p.type !== undefined) options.type = p.type;
  if (p.appId !== undefined) options.appId = p.appId;
  return options;
}

/** A publish of a received message into the queue's dead-letter queue, with the reason in headers. */
export function deadLetterSpec(
  queue: string,
  msg: Message,
  reason: { code: string; message: string },
): PublishSpec {
  const options = republishOptions(msg, {
    [DEAD_LETTER_HEADERS.code]: reason.code,
    [DEAD_LETTER_HEADERS.message]: reason.message,
    [DEAD_LETTER_HEADERS.at]: new Date().toISOString(),
  });
  // A dead letter must stay until someone looks at it.
  delete options.expiration;
  return {
    exchange: DEAD_LETTER_EXCHANGE,
    routingKey: queue,
    content: msg.content,
    options,
    needs: { kind: 'dead-letter', queue },
  };
}

import { ConfigError } from '@celeriac/core';
import { redactUrl } from '@celeriac/core/adapter';
import type { SocketOptions } from 'amqplib';

/** Queue types the adapter can declare. */
export type RabbitMQQueueType = 'classic' | 'quorum';

/** Options of {@link RabbitMQBroker}. Every field has a default. */
export interface RabbitMQBrokerOptions {
  /**
   * `amqp://user:password@host:port/vhost` or `amqps://…` (TLS). The vhost is the URL path,
   * percent-encoded (`/%2F` or `//` is the default vhost `/`). amqplib's own query parameters
   * (`heartbeat`, `frameMax`, `channelMax`, `locale`, `maxFrameSize`) are passed through.
   * @defaultValue `amqp://guest:guest@127.0.0.1:5672`
   */
  readonly url?: string;
  /**
   * Declare work queues with `x-max-priority` set to this (1..255), as Celery's
   * `task_queue_max_priority` does; 10 covers Celery's 0..9. Unset: no priority queues (Celery's
   * default). Every client of a queue must agree, or RabbitMQ refuses the declaration.
   */
  readonly maxPriority?: number;
  /** `quorum` declares `x-queue-type: quorum`, like Celery's `task_default_queue_type`. @defaultValue `classic` */
  readonly queueType?: RabbitMQQueueType;
  /**
   * Quorum queues only: `x-delivery-limit`. A message returned more often than this is
   * dead-lettered by RabbitMQ into the queue's dead-letter queue, unseen by any worker, so no
   * FAILURE is stored for it. Keep it a crash-loop backstop well above the workers' own
   * `maxDeliveries` (a consumer with a higher `maxDeliveries` is refused with a `ConfigError`).
   * Unset by default, because Celery declares quorum queues without it (RabbitMQ 4 then applies
   * its own default of 20).
   */
  readonly deliveryLimit?: number;
  /**
   * Also set the AMQP `expiration` property (ms until the task's `expires`), as Celery does. RabbitMQ
   * then discards an expired message unseen, so no REVOKED result is stored and a caller waiting
   * for it hangs until its own timeout. Off by default: the worker checks `expires` itself and
   * stores REVOKED (Python workers do too). @defaultValue false
   */
  readonly messageExpiration?: boolean;
  /** Wait for publisher confirms before `publish()` resolves. @defaultValue true */
  readonly confirm?: boolean;
  /** Publishes held while the connection is down; beyond this, `publish()` fails at once. @defaultValue 10000 */
  readonly maxBufferedPublishes?: number;
  /** A publish not confirmed within this fails with a retriable error. @defaultValue 30000 */
  readonly publishTimeoutMs?: number;
  /** Operations other than publish (consume, depth, …) wait this long for a connection. @defaultValue 30000 */
  readonly connectTimeoutMs?: number;
  /**
   * Classic queues report every redelivery as the second one. With this on, a redelivered
   * message is first re-published with its count in a header, so `deliveryCount` stays exact
   * (crash loops are caught) at the price of moving it to the back of the queue. @defaultValue true
   */
  readonly exactDeliveryCount?: boolean;
  /** Largest message body accepted, checked before publishing. @defaultValue 16 MiB (RabbitMQ 4's default) */
  readonly maxMessageBytes?: number;
  /** Reconnection backoff: doubles from `initialDelayMs` up to `maxDelayMs`, with jitter. */
  readonly reconnect?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number };
  /** Socket and TLS options for amqplib (`ca`, `cert`, `key`, `servername`, …). */
  readonly socketOptions?: SocketOptions;
  /**
   * Dead letters a queue's `<queue>.dlq` keeps: declared with `x-max-length` and `x-overflow:
   * drop-head`, so RabbitMQ keeps the newest and drops the oldest. A DLQ declared without the cap
   * (by an earlier version) keeps its arguments, as RabbitMQ cannot change them: cap it with a
   * policy (`max-length`). @defaultValue 10000
   */
  readonly deadLetterMaxEntries?: number;
}

/** Options with defaults applied. */
export interface ResolvedOptions {
  readonly url: string;
  readonly maxPriority: number | undefined;
  readonly queueType: RabbitMQQueueType;
  readonly deliveryLimit: number | undefined;
  readonly messageExpiration: boolean;
  readonly confirm: boolean;
  readonly maxBufferedPublishes: number;
  readonly publishTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly exactDeliveryCount: boolean;
  readonly maxMessageBytes: number;
  readonly reconnectInitialDelayMs: number;
  readonly reconnectMaxDelayMs: number;
  readonly socketOptions: SocketOptions;
  readonly deadLetterMaxEntries: number;
}

/** Default URL: the local node with the guest account (which RabbitMQ allows from loopback only). */
export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

function int(name: string, value: number | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`rabbitmq: ${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** Applies defaults and checks every option, throwing {@link ConfigError} on the first bad one. */
export function resolveOptions(options: RabbitMQBrokerOptions = {}): ResolvedOptions {
  const url = options.url ?? DEFAULT_AMQP_URL;
  if (!/^amqps?:\/\//i.test(url)) {
    throw new ConfigError(`rabbitmq: the URL must start with amqp:// or amqps://, got "${redactUrl(url)}"`);
  }
  const queueType = options.queueType ?? 'classic';
  if (queueType !== 'classic' && queueType !== 'quorum') {
    throw new ConfigError(`rabbitmq: queueType must be "classic" or "quorum", got "${String(queueType)}"`);
  }
  const maxPriority = int('maxPriority', options.maxPriority, 1, 255);
  if (maxPriority !== undefined && queueType === 'quorum') {
    throw new ConfigError(
      'rabbitmq: quorum queues do not support x-max-priority; use classic queues for priorities',
    );
  }
  const deliveryLimit = int('deliveryLimit', options.deliveryLimit, 1, 2 ** 31 - 1);
  if (deliveryLimit !== undefined && queueType !== 'quorum') {
    throw new ConfigError(
      'rabbitmq: deliveryLimit needs queueType "quorum" (classic queues have no delivery limit)',
    );
  }
  const initial = int('reconnect.initialDelayMs', options.reconnect?.initialDelayMs, 1, 3_600_000) ?? 100;
  const max = int('reconnect.maxDelayMs', options.reconnect?.maxDelayMs, 1, 3_600_000) ?? 5_000;
  return {
    url,
    maxPriority,
    queueType,
    deliveryLimit,
    messageExpiration: options.messageExpiration ?? false,
    confirm: options.confirm ?? true,
    maxBufferedPublishes: int('maxBufferedPublishes', options.maxBufferedPublishes, 0, 10_000_000) ?? 10_000,
    publishTimeoutMs: int('publishTimeoutMs', options.publishTimeoutMs, 1, 86_400_000) ?? 30_000,
    connectTimeoutMs: int('connectTimeoutMs', options.connectTimeoutMs, 1, 86_400_000) ?? 30_000,
    exactDeliveryCount: options.exactDeliveryCount ?? true,
    maxMessageBytes:
      int('maxMessageBytes', options.maxMessageBytes, 1, 512 * 1024 * 1024) ?? 16 * 1024 * 1024,
    reconnectInitialDelayMs: initial,
    reconnectMaxDelayMs: Math.max(initial, max),
    socketOptions: options.socketOptions ?? {},
    deadLetterMaxEntries: int('deadLetterMaxEntries', options.deadLetterMaxEntries, 1, 2 ** 31 - 1) ?? 10_000,
  };
}

import { type Broker, ConfigError } from '@celeriac/core';
import { redactUrl } from '@celeriac/core/adapter';
import { RabbitMQBroker } from './broker.js';
import type { RabbitMQBrokerOptions, RabbitMQQueueType } from './options.js';

/** Query parameters amqplib reads itself; they stay in the URL. */
const AMQPLIB_PARAMS = new Set(['heartbeat', 'frameMax', 'channelMax', 'locale', 'maxFrameSize']);

function integer(name: string, value: string): number {
  if (!/^\d+$/.test(value))
    throw new ConfigError(`rabbitmq: URL parameter ${name} must be a whole number, got "${value}"`);
  return Number(value);
}

function boolean(name: string, value: string): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ConfigError(`rabbitmq: URL parameter ${name} must be true or false, got "${value}"`);
}

function queueType(name: string, value: string): RabbitMQQueueType {
  if (value !== 'classic' && value !== 'quorum') {
    throw new ConfigError(`rabbitmq: URL parameter ${name} must be classic or quorum, got "${value}"`);
  }
  return value;
}

/** The adapter's own URL parameters, each read by its type's reader (a bad value is a ConfigError). */
const URL_PARAMS = {
  maxPriority: integer,
  queueType,
  deliveryLimit: integer,
  confirm: boolean,
  messageExpiration: boolean,
  exactDeliveryCount: boolean,
  publishTimeoutMs: integer,
  connectTimeoutMs: integer,
  maxBufferedPublishes: integer,
  maxMessageBytes: integer,
} satisfies {
  readonly [K in keyof RabbitMQBrokerOptions]?: (name: string, value: string) => RabbitMQBrokerOptions[K];
};

/** The URL schemes this adapter serves (without `:`), read by the CLIs to pick it by URL. */
export const brokerSchemes = ['amqp', 'amqps'] as const;

/** Reads the adapter's options from URL query parameters (see {@link createBroker}). */
export function optionsFromUrl(url: string): RabbitMQBrokerOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new ConfigError(`rabbitmq: invalid URL "${redactUrl(url)}"`, { cause: error });
  }
  if (!(brokerSchemes as readonly string[]).includes(parsed.protocol.slice(0, -1))) {
    throw new ConfigError(
      `rabbitmq: unsupported URL scheme "${parsed.protocol}" (use ${brokerSchemes.map((s) => `${s}://`).join(' or ')})`,
    );
  }
  if (!parsed.hostname) throw new ConfigError(`rabbitmq: the URL "${redactUrl(url)}" has no host`);
  const options: Record<string, unknown> = {};
  const keep = new URLSearchParams();
  for (const [name, value] of parsed.searchParams) {
    if (Object.hasOwn(URL_PARAMS, name)) {
      options[name] = URL_PARAMS[name as keyof typeof URL_PARAMS](name, value);
    } else if (AMQPLIB_PARAMS.has(name)) {
      keep.append(name, value);
    } else {
      throw new ConfigError(
        `rabbitmq: unknown URL parameter "${name}" (known: ${[...Object.keys(URL_PARAMS), ...AMQPLIB_PARAMS].join(', ')})`,
      );
    }
  }
  parsed.search = keep.toString();
  options.url = parsed.toString();
  return options as RabbitMQBrokerOptions;
}

/**
 * The factory the CLIs use to pick this adapter by URL scheme: `amqp://` or `amqps://` (TLS),
 * with user, password and vhost in the URL as usual, and the adapter's options as query
 * parameters, e.g. `amqp://user:pass@host:5672/%2F?maxPriority=10` or `?queueType=quorum`.
 * Throws {@link ConfigError} for another scheme or an unknown parameter.
 */
export function createBroker(url: string): Broker {
  return new RabbitMQBroker(optionsFromUrl(url));
}

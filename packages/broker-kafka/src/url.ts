import { ConfigError } from '@celeriac/core';
import { KafkaBroker } from './kafka-broker.js';
import type { KafkaBrokerOptions } from './options.js';
import type { KafkajsLogLevel } from './transport/kafkajs-transport.js';

const NUMBER_PARAMS = [
  'partitions',
  'replicationFactor',
  'sessionTimeoutMs',
  'heartbeatIntervalMs',
  'fetchMaxWaitMs',
  'revokeTimeoutMs',
  'maxUncommitted',
  'maxMessageBytes',
] as const;
const LOG_LEVELS: readonly KafkajsLogLevel[] = ['nothing', 'error', 'warn', 'info', 'debug'];

/** The URL schemes this adapter serves (without `:`), read by the CLIs to pick it by URL. */
export const brokerSchemes = ['kafka'] as const;

/**
 * Options from a `kafka://host:port[,host2:port2][?param=value…]` URL. Query parameters:
 * `partitions`, `replicationFactor`, `sessionTimeoutMs`, `heartbeatIntervalMs`, `fetchMaxWaitMs`,
 * `revokeTimeoutMs`, `maxUncommitted`, `maxMessageBytes` (numbers), `delayTiersMs` (comma-separated
 * ms), `clientId`, `groupPrefix` and `logLevel`. The port defaults to 9092.
 */
export function parseKafkaUrl(url: string): KafkaBrokerOptions {
  // The pattern's scheme is brokerSchemes' only entry.
  const match = /^kafka:\/\/([^/?#]*)\/?(?:\?([^#]*))?$/i.exec(url.trim());
  if (!match)
    throw new ConfigError(
      `not a Kafka URL: ${JSON.stringify(url)} (expected kafka://host:port[,host:port][?options])`,
    );
  const brokers = (match[1] ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean)
    .map((h) => (/:\d+$/.test(h) ? h : `${h}:9092`));
  if (brokers.length === 0) throw new ConfigError(`Kafka URL names no broker: ${JSON.stringify(url)}`);
  const options: Record<string, unknown> = { brokers };
  for (const [name, value] of new URLSearchParams(match[2] ?? '')) {
    if ((NUMBER_PARAMS as readonly string[]).includes(name)) {
      const n = Number(value);
      if (value === '' || !Number.isFinite(n))
        throw new ConfigError(`Kafka URL parameter ${name} must be a number, got ${JSON.stringify(value)}`);
      options[name] = n;
    } else if (name === 'delayTiersMs') {
      const tiers = value.split(',').map(Number);
      if (tiers.some((t) => !Number.isFinite(t) || t <= 0))
        throw new ConfigError(
          `Kafka URL parameter delayTiersMs must list positive ms, got ${JSON.stringify(value)}`,
        );
      options[name] = tiers;
    } else if (name === 'clientId' || name === 'groupPrefix') {
      options[name] = value;
    } else if (name === 'logLevel') {
      if (!(LOG_LEVELS as readonly string[]).includes(value))
        throw new ConfigError(`Kafka URL parameter logLevel must be one of ${LOG_LEVELS.join(', ')}`);
      options[name] = value;
    } else {
      throw new ConfigError(`unknown Kafka URL parameter ${JSON.stringify(name)}`);
    }
  }
  return options as KafkaBrokerOptions;
}

/** The factory the CLIs use: a {@link KafkaBroker} for a `kafka://` URL. */
export function createBroker(url: string): KafkaBroker {
  return new KafkaBroker(parseKafkaUrl(url));
}

import { readFileSync } from 'node:fs';
import { ConfigError } from '@celeriac/core';
import { redactUrl } from '@celeriac/core/adapter';
import { KafkaBroker } from './kafka-broker.js';
import type { KafkaBrokerOptions, KafkaSaslMechanism } from './options.js';
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
const SASL_MECHANISMS: readonly KafkaSaslMechanism[] = ['scram-sha-256', 'scram-sha-512', 'plain'];

function decodeUserinfo(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConfigError(`Kafka URL ${what} is not valid percent-encoding`);
  }
}

/** The URL schemes this adapter serves (without `:`), read by the CLIs to pick it by URL. */
export const brokerSchemes = ['kafka'] as const;

/**
 * Options from a `kafka://[user:password@]host:port[,host2:port2][?param=value…]` URL. Query
 * parameters: `partitions`, `replicationFactor`, `sessionTimeoutMs`, `heartbeatIntervalMs`,
 * `fetchMaxWaitMs`, `revokeTimeoutMs`, `maxUncommitted`, `maxMessageBytes` (numbers), `delayTiersMs`
 * (comma-separated ms), `clientId`, `groupPrefix`, `logLevel`; `ssl=true` for TLS and `sslCaFile`
 * (a PEM file of CAs to trust, implies TLS); `saslMechanism` (`scram-sha-256`, `scram-sha-512`,
 * `plain`) with the percent-encoded user and password in the URL's userinfo. The port defaults to 9092.
 *
 * @example
 * ```ts
 * parseKafkaUrl('kafka://app:s3cret@kafka-1:9095?ssl=true&saslMechanism=scram-sha-512');
 * ```
 */
export function parseKafkaUrl(url: string): KafkaBrokerOptions {
  // The pattern's scheme is brokerSchemes' only entry.
  const match = /^kafka:\/\/([^/?#]*)\/?(?:\?([^#]*))?$/i.exec(url.trim());
  if (!match)
    throw new ConfigError(
      `not a Kafka URL: ${JSON.stringify(redactUrl(url))} (expected kafka://host:port[,host:port][?options])`,
    );
  const authority = match[1] ?? '';
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : undefined;
  const colon = userinfo?.indexOf(':') ?? -1;
  const username = userinfo === undefined ? undefined : userinfo.slice(0, colon >= 0 ? colon : undefined);
  const password = colon >= 0 ? userinfo?.slice(colon + 1) : undefined;
  const brokers = authority
    .slice(at + 1)
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean)
    .map((h) => (/:\d+$/.test(h) ? h : `${h}:9092`));
  if (brokers.length === 0)
    throw new ConfigError(`Kafka URL names no broker: ${JSON.stringify(redactUrl(url))}`);
  const options: Record<string, unknown> = { brokers };
  let mechanism: KafkaSaslMechanism | undefined;
  let ssl: { ca?: string } | boolean | undefined;
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
    } else if (name === 'ssl') {
      if (value !== 'true' && value !== 'false')
        throw new ConfigError(`Kafka URL parameter ssl must be true or false, got ${JSON.stringify(value)}`);
      ssl = typeof ssl === 'object' ? ssl : value === 'true';
    } else if (name === 'sslCaFile') {
      try {
        ssl = { ca: readFileSync(value, 'utf8') };
      } catch (error) {
        throw new ConfigError(`Kafka URL parameter sslCaFile: cannot read ${JSON.stringify(value)}`, {
          cause: error,
        });
      }
    } else if (name === 'saslMechanism') {
      const m = value.toLowerCase();
      if (!(SASL_MECHANISMS as readonly string[]).includes(m))
        throw new ConfigError(
          `Kafka URL parameter saslMechanism must be one of ${SASL_MECHANISMS.join(', ')}`,
        );
      mechanism = m as KafkaSaslMechanism;
    } else if (name === 'logLevel') {
      if (!(LOG_LEVELS as readonly string[]).includes(value))
        throw new ConfigError(`Kafka URL parameter logLevel must be one of ${LOG_LEVELS.join(', ')}`);
      options[name] = value;
    } else {
      throw new ConfigError(`unknown Kafka URL parameter ${JSON.stringify(name)}`);
    }
  }
  if (ssl !== undefined) options.ssl = ssl;
  if (mechanism !== undefined || username !== undefined) {
    if (!mechanism || !username || password === undefined)
      throw new ConfigError(
        'Kafka URL with SASL needs both user:password@ in the URL and the saslMechanism parameter',
      );
    options.sasl = {
      mechanism,
      username: decodeUserinfo(username, 'user'),
      password: decodeUserinfo(password, 'password'),
    };
  }
  return options as KafkaBrokerOptions;
}

/** The factory the CLIs use: a {@link KafkaBroker} for a `kafka://` URL. */
export function createBroker(url: string): KafkaBroker {
  return new KafkaBroker(parseKafkaUrl(url));
}

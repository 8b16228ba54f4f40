import { ConfigError } from '@celeriac/core';
import { DEFAULT_MAX_MESSAGE_BYTES } from './capabilities.js';
import { normaliseTiers } from './delay-tiers.js';
import type { KafkajsLogLevel } from './transport/kafkajs-transport.js';
import type { KafkaTransport } from './transport/types.js';

/** TLS towards the brokers. The broker's certificate and host name are always verified. */
export interface KafkaTlsOptions {
  /** PEM certificates of the CAs to trust instead of Node's defaults (e.g. a private CA). */
  readonly ca?: string | readonly string[];
}

/** SASL mechanisms the adapter speaks. */
export type KafkaSaslMechanism = 'scram-sha-256' | 'scram-sha-512' | 'plain';

/** SASL credentials. The password is kept out of logs, errors and `JSON.stringify`/`inspect` output. */
export interface KafkaSaslOptions {
  readonly mechanism: KafkaSaslMechanism;
  readonly username: string;
  readonly password: string;
}

/** Options of {@link KafkaBroker}. */
export interface KafkaBrokerOptions {
  /** Bootstrap brokers as `host:port`. @default ['127.0.0.1:9092'] */
  readonly brokers?: readonly string[];
  /** Client id sent to Kafka. @default 'celeriac' */
  readonly clientId?: string;
  /** Partitions of the work and delay topics the adapter creates (existing topics keep theirs). @default 3 */
  readonly partitions?: number;
  /** Replication factor of created topics; -1 uses the broker's default. @default -1 */
  readonly replicationFactor?: number;
  /** The consumers of queue `q` form the group `<groupPrefix>q`. @default 'celeriac.' */
  readonly groupPrefix?: string;
  /** Delay tiers in ms: one topic `<queue>.retry.<tier>` each. @default 1 s, 5 s, 30 s, 2 min, 10 min, 1 h */
  readonly delayTiersMs?: readonly number[];
  /** Consumer-group session timeout: a silent member is expelled after it. @default 30_000 */
  readonly sessionTimeoutMs?: number;
  /** @default 3_000 */
  readonly heartbeatIntervalMs?: number;
  /** Longest a fetch waits for records; bounds how fast a paused partition resumes. @default 200 */
  readonly fetchMaxWaitMs?: number;
  /** On rebalance, how long in-flight deliveries get to finish before the partitions are given up. @default 10_000 */
  readonly revokeTimeoutMs?: number;
  /**
   * Most records of one partition between the committed offset and the newest handed out; the
   * partition pauses at this many (so a stuck record bounds what a crash re-delivers). @default 1_000
   */
  readonly maxUncommitted?: number;
  /** Largest message accepted; topics are created to hold it. @default 1 MiB */
  readonly maxMessageBytes?: number;
  /** Extra topic configuration for work topics, e.g. `{ 'retention.ms': '604800000' }`. */
  readonly topicConfig?: Readonly<Record<string, string>>;
  /**
   * Bytes a queue's dead-letter topic keeps (`retention.bytes`, in segments of an eighth of it):
   * Kafka deletes the oldest segments beyond it, so the dead-letter place stays bounded. Each dead
   * letter is at most `maxMessageBytes`. Applied when the topic is created; an existing topic keeps
   * its configuration (change it with `kafka-configs --alter`). @default 268435456 (256 MiB)
   */
  readonly deadLetterRetentionBytes?: number;
  /** kafkajs log level. @default 'error' */
  readonly logLevel?: KafkajsLogLevel;
  /** Connect over TLS: `true` with Node's trusted CAs, or the CAs to trust. @default false */
  readonly ssl?: boolean | KafkaTlsOptions;
  /** Authenticate with SASL (SCRAM needs no TLS to keep the password secret; `plain` does). */
  readonly sasl?: KafkaSaslOptions;
  /** Another client behind the transport seam; the adapter does not close a transport it was given. */
  readonly transport?: KafkaTransport;
}

/** Options with every default applied. */
export interface ResolvedKafkaOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly groupPrefix: string;
  readonly delayTiersMs: readonly number[];
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly fetchMaxWaitMs: number;
  readonly revokeTimeoutMs: number;
  readonly maxUncommitted: number;
  readonly maxMessageBytes: number;
  readonly topicConfig: Readonly<Record<string, string>>;
  readonly deadLetterRetentionBytes: number;
  readonly logLevel: KafkajsLogLevel;
  readonly ssl: KafkaTlsOptions | undefined;
  /** Its `password` is not enumerable, so printing the options never shows it. */
  readonly sasl: KafkaSaslOptions | undefined;
}

/** Default delay tiers, in ms. */
export const DEFAULT_DELAY_TIERS_MS: readonly number[] = [1_000, 5_000, 30_000, 120_000, 600_000, 3_600_000];

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v <= 0)
    throw new ConfigError(`kafka option ${name} must be a positive integer, got ${v}`);
  return v;
}

function atLeast(name: string, value: number, min: number): number {
  if (value < min) throw new ConfigError(`kafka option ${name} must be at least ${min}, got ${value}`);
  return value;
}

const SASL_MECHANISMS: readonly KafkaSaslMechanism[] = ['scram-sha-256', 'scram-sha-512', 'plain'];

function resolveTls(ssl: KafkaBrokerOptions['ssl']): KafkaTlsOptions | undefined {
  if (ssl === undefined || ssl === false) return undefined;
  if (ssl === true) return {};
  const ca = typeof ssl.ca === 'string' ? [ssl.ca] : ssl.ca;
  if (ca?.some((c) => typeof c !== 'string' || !c.includes('-----BEGIN CERTIFICATE-----')))
    throw new ConfigError('kafka option ssl.ca must hold PEM certificates');
  return ca ? { ca: [...ca] } : {};
}

function resolveSasl(sasl: KafkaSaslOptions | undefined, tls: boolean): KafkaSaslOptions | undefined {
  if (sasl === undefined) return undefined;
  // Never quote the password (or the whole object) in these messages.
  if (!SASL_MECHANISMS.includes(sasl.mechanism))
    throw new ConfigError(`kafka option sasl.mechanism must be one of ${SASL_MECHANISMS.join(', ')}`);
  if (typeof sasl.username !== 'string' || sasl.username === '')
    throw new ConfigError('kafka option sasl.username must be a non-empty string');
  if (typeof sasl.password !== 'string' || sasl.password === '')
    throw new ConfigError(`kafka option sasl.password for user ${sasl.username} must be a non-empty string`);
  if (sasl.mechanism === 'plain' && !tls)
    throw new ConfigError('kafka SASL mechanism plain sends the password as is: enable ssl with it');
  const resolved = { mechanism: sasl.mechanism, username: sasl.username };
  Object.defineProperty(resolved, 'password', { value: sasl.password, enumerable: false });
  return resolved as KafkaSaslOptions;
}

/** Applies defaults and checks values; throws {@link ConfigError} on a wrong one. */
export function resolveOptions(options: KafkaBrokerOptions): ResolvedKafkaOptions {
  const brokers = options.brokers?.length ? [...options.brokers] : ['127.0.0.1:9092'];
  for (const b of brokers) {
    if (!/^[^:/\s]+:\d+$/.test(b))
      throw new ConfigError(`kafka broker address must be host:port, got ${JSON.stringify(b)}`);
  }
  const sessionTimeoutMs = positiveInt('sessionTimeoutMs', options.sessionTimeoutMs, 30_000);
  const heartbeatIntervalMs = positiveInt(
    'heartbeatIntervalMs',
    options.heartbeatIntervalMs,
    Math.min(3_000, Math.floor(sessionTimeoutMs / 3)),
  );
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw new ConfigError(
      `kafka heartbeatIntervalMs (${heartbeatIntervalMs}) must be below sessionTimeoutMs (${sessionTimeoutMs})`,
    );
  }
  const replicationFactor = options.replicationFactor ?? -1;
  if (!Number.isInteger(replicationFactor) || (replicationFactor < 1 && replicationFactor !== -1)) {
    throw new ConfigError(
      `kafka option replicationFactor must be -1 or a positive integer, got ${replicationFactor}`,
    );
  }
  const ssl = resolveTls(options.ssl);
  const delayTiersMs = normaliseTiers(options.delayTiersMs ?? DEFAULT_DELAY_TIERS_MS);
  if (delayTiersMs.length === 0)
    throw new ConfigError('kafka option delayTiersMs needs at least one positive delay');
  return {
    brokers,
    clientId: options.clientId ?? 'celeriac',
    partitions: positiveInt('partitions', options.partitions, 3),
    replicationFactor,
    groupPrefix: options.groupPrefix ?? 'celeriac.',
    delayTiersMs,
    sessionTimeoutMs,
    heartbeatIntervalMs,
    fetchMaxWaitMs: positiveInt('fetchMaxWaitMs', options.fetchMaxWaitMs, 200),
    revokeTimeoutMs: positiveInt('revokeTimeoutMs', options.revokeTimeoutMs, 10_000),
    maxUncommitted: positiveInt('maxUncommitted', options.maxUncommitted, 1_000),
    maxMessageBytes: positiveInt('maxMessageBytes', options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES),
    topicConfig: { ...options.topicConfig },
    deadLetterRetentionBytes: atLeast(
      'deadLetterRetentionBytes',
      positiveInt('deadLetterRetentionBytes', options.deadLetterRetentionBytes, 256 * 1024 * 1024),
      1024 * 1024,
    ),
    logLevel: options.logLevel ?? 'error',
    ssl,
    sasl: resolveSasl(options.sasl, ssl !== undefined),
  };
}

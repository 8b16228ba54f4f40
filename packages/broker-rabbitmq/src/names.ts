import { ConfigError } from '@celeriac/core';

/**
 * Names of everything the adapter declares besides the work queue itself. Everything of ours is
 * prefixed `celeriac.` or suffixed `.dlq`, so it is easy to spot next to Celery's own entities.
 */

/** The direct exchange dead letters are routed through (routing key = the work queue's name). */
export const DEAD_LETTER_EXCHANGE = 'celeriac.dlx';

/** Dead-letter queue of a work queue. */
export function deadLetterQueueName(queue: string): string {
  return `${queue}.dlq`;
}

/**
 * Number of levels in a queue's delay chain. Level `k` holds messages for 2^k ms, so one chain
 * covers delays up to 2^35 - 1 ms (about 398 days); RabbitMQ refuses TTLs much beyond 2^35 ms.
 */
export const DELAY_LEVELS = 35;

/**
 * A chain is declared lazily, up to the tier a delay needs: levels 0..11 (delays under ~4 s),
 * then up to 17 (~4 min), 23 (~4.7 h) and 34. Most queues only ever need the first tiers.
 */
export const DELAY_TIERS: readonly number[] = [11, 17, 23, DELAY_LEVELS - 1];

/** The top level of the smallest tier that holds `level`. */
export function delayTier(level: number): number {
  return DELAY_TIERS.find((top) => top >= level) ?? DELAY_LEVELS - 1;
}

/** Longest delay a chain can hold, in ms. */
export const MAX_DELAY_MS = 2 ** DELAY_LEVELS - 1;

/** The exchange and the queue of level `level` of `queue`'s delay chain share this name. */
export function delayLevelName(queue: string, level: number): string {
  return `celeriac.delay.${queue}.${level}`;
}

/**
 * Routing key that carries a delay through the chain: one word per level, most significant
 * first (`0.…0.1.0.0.1`), so each level's exchange can test its own bit with a topic pattern.
 */
export function delayRoutingKey(delayMs: number): string {
  const words: string[] = [];
  for (let level = DELAY_LEVELS - 1; level >= 0; level--) {
    words.push(Math.floor(delayMs / 2 ** level) % 2 === 1 ? '1' : '0');
  }
  return words.join('.');
}

/** Topic pattern matching routing keys whose bit `level` is `bit`. */
export function delayBitPattern(level: number, bit: 0 | 1): string {
  const before = Array.from({ length: DELAY_LEVELS - 1 - level }, () => '*');
  return [...before, String(bit), '#'].join('.');
}

/** Level a delayed message enters the chain at: its highest set bit. */
export function delayEntryLevel(delayMs: number): number {
  return Math.floor(Math.log2(delayMs));
}

/** Whole milliseconds to wait, rounded up so a message is never early. */
export function normaliseDelay(delayMs: number | undefined): number {
  if (delayMs === undefined || !Number.isFinite(delayMs) || delayMs <= 0) return 0;
  const ms = Math.ceil(delayMs);
  if (ms > MAX_DELAY_MS) {
    throw new ConfigError(
      `rabbitmq: a delay of ${ms} ms is longer than the longest supported (${MAX_DELAY_MS} ms)`,
    );
  }
  return ms;
}

const MAX_NAME_BYTES = 255;
const LONGEST_SUFFIX = Buffer.byteLength(delayLevelName('', DELAY_LEVELS - 1));

/** Rejects queue names RabbitMQ would refuse, before anything reaches the wire. */
export function assertQueueName(queue: string): void {
  if (typeof queue !== 'string' || queue === '') {
    throw new ConfigError('rabbitmq: a queue name must be a non-empty string');
  }
  if (queue.startsWith('amq.')) {
    throw new ConfigError(
      `rabbitmq: queue name "${queue}" is reserved (names starting with "amq." belong to RabbitMQ)`,
    );
  }
  if (Buffer.byteLength(queue) + LONGEST_SUFFIX > MAX_NAME_BYTES) {
    throw new ConfigError(
      `rabbitmq: queue name "${queue.slice(0, 40)}…" is too long; at most ${MAX_NAME_BYTES - LONGEST_SUFFIX} bytes leave room for its delay queues`,
    );
  }
}

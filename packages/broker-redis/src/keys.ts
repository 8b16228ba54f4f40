import { ConfigError } from '@celeriac/core';
import { PRIORITY_STEPS, type PriorityStep } from './priority.js';

/** kombu's separator between a queue name and its priority step. */
export const PRIORITY_SEP = '\x06\x16';

/** How much a queue's dead-letter list keeps (see `RedisBrokerOptions.deadLetterMaxEntries`). */
export interface DeadLetterLimits {
  /** Entries kept per queue: the newest; older ones are dropped and counted. */
  readonly maxEntries: number;
  /** Bytes of a raw message kept in an entry: the head; the entry notes the original size. */
  readonly maxBytes: number;
}

/** The defaults: 10,000 entries per queue, 256 KiB of each raw message. */
export const DEFAULT_DEAD_LETTER_LIMITS: DeadLetterLimits = Object.freeze({
  maxEntries: 10_000,
  maxBytes: 256 * 1024,
});

/**
 * Where one set of bookkeeping keys lives. On a single server (or Sentinel) there is one keyspace
 * shared with kombu (`unacked`, `unacked_index`, `unacked_mutex`); on Redis Cluster every queue is
 * its own keyspace whose keys all carry the hash tag `{queue}`, so each script touches one slot.
 */
export interface Keyspace {
  readonly cluster: boolean;
  /** The queue this keyspace belongs to on Cluster; `''` on a single server. */
  readonly queue: string;
  /** kombu's `unacked` hash: delivery tag → `[envelope, exchange, routing_key]`. */
  readonly unacked: string;
  /** kombu's `unacked_index` zset: delivery tag → unix seconds when taken (refreshed while held). */
  readonly unackedIndex: string;
  /** kombu's `unacked_mutex`, taken by Python workers while they restore. */
  readonly unackedMutex: string;
  /** Held messages that are not kombu envelopes (kept out of kombu's hash). */
  readonly unackedRaw: string;
  /** Delivery counts by delivery tag. */
  readonly deliveries: string;
  /** Consumers by heartbeat deadline (unix ms). */
  readonly consumers: string;
  /** Short lock so one live consumer sweeps at a time. */
  readonly sweepLock: string;
  /** Prefix of each consumer's held zset (delivery tag → fetch sequence). */
  readonly heldPrefix: string;
  /** What the scripts run in this keyspace keep of dead letters. */
  readonly deadLetters: DeadLetterLimits;
}

/** The keyspace of `queue`: the shared one on a single server, a hash-tagged one on Cluster. */
export function keyspaceFor(
  cluster: boolean,
  queue: string,
  deadLetters: DeadLetterLimits = DEFAULT_DEAD_LETTER_LIMITS,
): Keyspace {
  if (!cluster) {
    return {
      cluster,
      deadLetters,
      queue: '',
      unacked: 'unacked',
      unackedIndex: 'unacked_index',
      unackedMutex: 'unacked_mutex',
      unackedRaw: '_celeriac.unacked_raw',
      deliveries: '_celeriac.deliveries',
      consumers: '_celeriac.consumers',
      sweepLock: '_celeriac.sweep_lock',
      heldPrefix: '_celeriac.held.',
    };
  }
  const tag = queueBase(true, queue);
  return {
    cluster,
    deadLetters,
    queue,
    unacked: `_celeriac.unacked.${tag}`,
    unackedIndex: `_celeriac.unacked_index.${tag}`,
    unackedMutex: `_celeriac.unacked_mutex.${tag}`,
    unackedRaw: `_celeriac.unacked_raw.${tag}`,
    deliveries: `_celeriac.deliveries.${tag}`,
    consumers: `_celeriac.consumers.${tag}`,
    sweepLock: `_celeriac.sweep_lock.${tag}`,
    heldPrefix: `_celeriac.held.${tag}.`,
  };
}

/** The list name of a queue's step-0 list: the queue itself, or `{queue}` on Cluster. */
export function queueBase(cluster: boolean, queue: string): string {
  return cluster ? `{${queue}}` : queue;
}

/** kombu's `_q_for_pri`: the list holding messages of one priority step. */
export function listKey(cluster: boolean, queue: string, step: PriorityStep): string {
  const base = queueBase(cluster, queue);
  return step === 0 ? base : `${base}${PRIORITY_SEP}${step}`;
}

/** Every priority list of a queue, in the order consumers serve them. */
export function listKeys(cluster: boolean, queue: string): string[] {
  return PRIORITY_STEPS.map((step) => listKey(cluster, queue, step));
}

/** Delayed messages of a queue (zset scored by due time in unix ms). */
export function delayedKey(cluster: boolean, queue: string): string {
  return `_celeriac.delayed.${queueBase(cluster, queue)}`;
}

/** Dead letters of a queue (list, oldest first). */
export function deadLetterKey(cluster: boolean, queue: string): string {
  return `_celeriac.dlq.${queueBase(cluster, queue)}`;
}

/** How many dead letters of a queue were dropped to keep its list within the cap (a counter). */
export function deadLettersDroppedKey(cluster: boolean, queue: string): string {
  return `_celeriac.dlq_dropped.${queueBase(cluster, queue)}`;
}

/**
 * Where held messages go whose queue cannot be read at all (an `unacked` entry in no known shape):
 * dead-lettered under this reserved name, `readDeadLetters(UNROUTABLE_QUEUE)` lists them. Never
 * used on Cluster, where each keyspace belongs to one queue.
 */
export const UNROUTABLE_QUEUE = '_celeriac.unroutable';

/** Wake-up tokens that our producers push so blocked consumers fetch at once. */
export function wakeKey(cluster: boolean, queue: string): string {
  return `_celeriac.wake.${queueBase(cluster, queue)}`;
}

/** A consumer's held zset in a keyspace. */
export function heldKey(keyspace: Keyspace, consumerId: string): string {
  return `${keyspace.heldPrefix}${consumerId}`;
}

/** Names kombu (and Celery's Redis result backend) use for keys of their own. */
const RESERVED_NAMES = new Set(['unacked', 'unacked_index', 'unacked_mutex']);
const RESERVED_PREFIXES = [
  '_kombu.',
  '_celeriac.',
  'celery-task-meta-',
  'celery-taskset-meta-',
  'chord-unlock',
];
/** Names already checked (single server, Cluster), so the check costs one lookup per publish. */
const checkedNames = [new Set<string>(), new Set<string>()] as const;

/**
 * Rejects queue names whose keys would collide with other keys on the same Redis: kombu's
 * `unacked`, `unacked_index` and `unacked_mutex`, its `_kombu.*` bindings, our own `_celeriac.*`
 * keys, Celery's result keys, and names that are another queue's priority list. A queue named
 * `unacked` would otherwise fail every fetch with WRONGTYPE and stall the whole consumer. On
 * Cluster a name must not contain braces, which would move its keys out of one hash slot.
 */
export function assertQueueName(cluster: boolean, queue: string): void {
  const checked = checkedNames[cluster ? 1 : 0];
  if (checked.has(queue)) return;
  let why: string | undefined;
  if (typeof queue !== 'string' || queue === '') why = 'a queue name must be a non-empty string';
  else if (RESERVED_NAMES.has(queue)) why = `"${queue}" is one of kombu's own keys on the same Redis`;
  else if (RESERVED_PREFIXES.some((p) => queue.startsWith(p)))
    why = `names starting with "${RESERVED_PREFIXES.find((p) => queue.startsWith(p))}" are keys of kombu, Celery or Celeriac`;
  else if (queue.includes(PRIORITY_SEP)) why = "the name contains kombu's priority separator (\\x06\\x16)";
  else if (cluster && /[{}]/.test(queue)) why = 'on Redis Cluster a queue name must not contain "{" or "}"';
  if (why !== undefined)
    throw new ConfigError(`redis broker: queue name "${String(queue)}" is not allowed: ${why}`);
  // Bounded, in case a producer makes up queue names as it goes.
  if (checked.size >= 1024) checked.clear();
  checked.add(queue);
}

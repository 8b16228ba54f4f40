import { PRIORITY_STEPS, type PriorityStep } from './priority.js';

/** kombu's separator between a queue name and its priority step. */
export const PRIORITY_SEP = '\x06\x16';

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
}

/** The keyspace of `queue`: the shared one on a single server, a hash-tagged one on Cluster. */
export function keyspaceFor(cluster: boolean, queue: string): Keyspace {
  if (!cluster) {
    return {
      cluster,
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

/** Wake-up tokens that our producers push so blocked consumers fetch at once. */
export function wakeKey(cluster: boolean, queue: string): string {
  return `_celeriac.wake.${queueBase(cluster, queue)}`;
}

/** A consumer's held zset in a keyspace. */
export function heldKey(keyspace: Keyspace, consumerId: string): string {
  return `${keyspace.heldPrefix}${consumerId}`;
}

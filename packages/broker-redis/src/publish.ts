import { randomUUID } from 'node:crypto';
import { BrokerError, type OutgoingMessage } from '@celeriac/core';
import type { ChainableCommander } from 'ioredis';
import { encodeEnvelope } from './envelope.js';
import { delayedKey, type Keyspace, keyspaceFor, listKey, wakeKey } from './keys.js';
import { pipeScript } from './scripts.js';

const PUSH_CHUNK = 1000;
const WAKE_TOKENS = 16;

/** Messages of one queue, prepared for one pipeline. */
interface QueueBatch {
  /** Consecutive messages for the same list, pushed with one LPUSH. */
  readonly runs: { key: string; raws: string[] }[];
  /** `delay, step, id, raw` groups for the delay script. */
  readonly delayed: (string | number)[];
  immediate: number;
}

/** For an eta-only queue: no broker delay, but an `eta` header (kept when the producer set one). */
function withEtaHeader(item: OutgoingMessage): OutgoingMessage {
  if (item.message.headers.eta) return { ...item, delayMs: 0 };
  const eta = new Date(Date.now() + (item.delayMs ?? 0)).toISOString().replace('Z', '+00:00');
  return { ...item, delayMs: 0, message: { ...item.message, headers: { ...item.message.headers, eta } } };
}

/** Groups messages by queue, keeping their order within each priority list. */
export function batchByQueue(
  cluster: boolean,
  messages: readonly OutgoingMessage[],
  limits: { readonly maxBytes: number; readonly etaOnlyQueues: ReadonlySet<string> },
): Map<string, QueueBatch> {
  const batches = new Map<string, QueueBatch>();
  const { maxBytes } = limits;
  for (const original of messages) {
    const etaOnly = limits.etaOnlyQueues.has(original.queue) && (original.delayMs ?? 0) > 0;
    const item = etaOnly ? withEtaHeader(original) : original;
    const { raw, step } = encodeEnvelope(item.queue, item.message);
    const bytes = Buffer.byteLength(raw);
    if (bytes > maxBytes) {
      throw new BrokerError('redis', `message of ${bytes} bytes exceeds the ${maxBytes}-byte limit`, false);
    }
    let batch = batches.get(item.queue);
    if (!batch) {
      batch = { runs: [], delayed: [], immediate: 0 };
      batches.set(item.queue, batch);
    }
    const delay = etaOnly ? 0 : Math.round(item.delayMs ?? 0);
    if (delay > 0) {
      batch.delayed.push(delay, step, randomUUID(), raw);
      continue;
    }
    const key = listKey(cluster, item.queue, step);
    const last = batch.runs[batch.runs.length - 1];
    if (last && last.key === key && last.raws.length < PUSH_CHUNK) last.raws.push(raw);
    else batch.runs.push({ key, raws: [raw] });
    batch.immediate += 1;
  }
  return batches;
}

/**
 * Queues the commands that publish one queue's batch: LPUSH (kombu's producer side), then wake-up
 * tokens for blocked consumers; delayed messages go to the delayed zset through a script that
 * reads the server clock.
 */
export function pipePublish(
  pipeline: ChainableCommander,
  cluster: boolean,
  queue: string,
  batch: QueueBatch,
): void {
  for (const run of batch.runs) pipeline.lpush(run.key, ...run.raws);
  if (batch.immediate > 0) {
    const wake = wakeKey(cluster, queue);
    pipeline.lpush(wake, ...Array.from({ length: Math.min(WAKE_TOKENS, batch.immediate) }, () => '1'));
    pipeline.ltrim(wake, 0, WAKE_TOKENS - 1);
    pipeline.pexpire(wake, 60_000);
  }
  if (batch.delayed.length > 0) {
    const keyspace: Keyspace = keyspaceFor(cluster, queue);
    pipeScript(pipeline, 'celeriacDelay', keyspace, [delayedKey(cluster, queue)], [queue, ...batch.delayed]);
  }
}

import { randomUUID } from 'node:crypto';
import { BrokerError } from '@celeriac/core';
import type { OutgoingMessage } from '@celeriac/core/adapter';
import type { ChainableCommander } from 'ioredis';
import { encodeEnvelope } from './envelope.js';
import { assertQueueName, delayedKey, type Keyspace, keyspaceFor, listKey, wakeKey } from './keys.js';
import { pipeScript } from './scripts.js';

/** Most envelopes one LPUSH carries. */
export const PUSH_CHUNK = 1000;
/** Wake-up tokens a wake-up list keeps at most. */
export const WAKE_TOKENS = 16;
/** How long a wake-up list lives after its last upkeep. */
export const WAKE_TTL_MS = 60_000;
const TOKENS = Array.from({ length: WAKE_TOKENS }, () => '1');

/** `count` wake-up tokens, at most as many as the wake-up list keeps. */
export function tokens(count: number): string[] {
  return TOKENS.slice(0, Math.min(WAKE_TOKENS, count));
}

/**
 * The commands that publish to one list of `queue`: LPUSH of the envelopes (kombu's producer
 * side), then one wake-up token per message for blocked consumers, at most {@link WAKE_TOKENS}
 * kept, for {@link WAKE_TTL_MS}.
 */
export function queuePush(
  target: Pick<ChainableCommander, 'lpush' | 'ltrim' | 'pexpire'>,
  cluster: boolean,
  queue: string,
  runs: readonly { readonly key: string; readonly raws: readonly string[] }[],
  count: number,
): void {
  for (const run of runs) target.lpush(run.key, ...run.raws);
  const wake = wakeKey(cluster, queue);
  target.lpush(wake, ...tokens(count));
  target.ltrim(wake, 0, WAKE_TOKENS - 1);
  target.pexpire(wake, WAKE_TTL_MS);
}

/** Runs a pipeline; throws the first command error. */
export async function execPipeline(pipeline: ChainableCommander): Promise<void> {
  const results = (await pipeline.exec()) ?? [];
  const failed = results.find(([error]) => error);
  if (failed?.[0]) throw failed[0];
}

/** Messages of one queue, prepared for one pipeline. */
interface QueueBatch {
  /** Consecutive messages for the same list, pushed with one command. */
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

/** Throws when an envelope is over the broker's limit. */
export function checkSize(raw: string, maxBytes: number): void {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: most envelopes need no byte count at all.
  if (raw.length * 3 <= maxBytes) return;
  const bytes = Buffer.byteLength(raw);
  if (bytes > maxBytes) {
    throw new BrokerError('redis', `message of ${bytes} bytes exceeds the ${maxBytes}-byte limit`, false);
  }
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
    assertQueueName(cluster, original.queue);
    const item = etaOnly ? withEtaHeader(original) : original;
    const { raw, step } = encodeEnvelope(item.queue, item.message);
    checkSize(raw, maxBytes);
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

/** The one push command a batch amounts to, when it is that simple (one queue, one list, no delay). */
export function singlePush(
  batches: Map<string, QueueBatch>,
): { queue: string; key: string; raws: string[] } | undefined {
  if (batches.size !== 1) return undefined;
  const [queue, batch] = batches.entries().next().value as [string, QueueBatch];
  const run = batch.runs[0];
  if (batch.runs.length !== 1 || batch.delayed.length > 0 || !run) return undefined;
  return { queue, key: run.key, raws: run.raws };
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
  if (batch.immediate > 0) queuePush(pipeline, cluster, queue, batch.runs, batch.immediate);
  if (batch.delayed.length > 0) {
    const keyspace: Keyspace = keyspaceFor(cluster, queue);
    pipeScript(pipeline, 'celeriacDelay', keyspace, [delayedKey(cluster, queue)], [queue, ...batch.delayed]);
  }
}

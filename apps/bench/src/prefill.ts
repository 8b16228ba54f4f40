import { createClient } from '@celeriac/core/producer';
import { noop, openBroker } from './celeriac.js';
import { beeSaveAll, openBeeQueue } from './peers/bee.js';
import { bullAddBulk, openBullQueue } from './peers/bullmq.js';

/** Whether a drain keeps each task's result (our result backend; BullMQ's completed jobs). */
export type ResultMode = 'kept' | 'dropped';

/**
 * Puts `count` no-op tasks on one of our queues in batches of 1000; returns their task ids.
 * `dropped`: sent with `ignoreResult`, so workers store no result.
 */
export async function prefillCeleriac(
  brokerUrl: string,
  queue: string,
  count: number,
  from = 0,
  results: ResultMode = 'kept',
): Promise<string[]> {
  const broker = await openBroker(brokerUrl);
  const client = createClient({ broker, defaultQueue: queue });
  const ids: string[] = [];
  try {
    for (let i = 0; i < count; i += 1000) {
      const n = Math.min(1000, count - i);
      const handles = await client.enqueueMany(
        noop,
        Array.from({ length: n }, (_, k) => ({ i: from + i + k })),
        results === 'dropped' ? { ignoreResult: true } : {},
      );
      for (const h of handles) ids.push(h.id);
    }
  } finally {
    await client.close();
  }
  return ids;
}

/**
 * Puts `count` no-op jobs on a BullMQ queue with `addBulk`. `dropped`: with `removeOnComplete`, so
 * a completed job is deleted rather than kept with its return value.
 */
export async function prefillBull(
  redisUrl: string,
  queue: string,
  count: number,
  results: ResultMode = 'kept',
): Promise<void> {
  const q = await openBullQueue(redisUrl, queue);
  try {
    await bullAddBulk(q, 0, count, 1000, results === 'dropped' ? { removeOnComplete: true } : {});
  } finally {
    await q.close();
  }
}

/** Puts `count` no-op jobs on a bee-queue queue with `saveAll`. */
export async function prefillBee(redisUrl: string, queue: string, count: number): Promise<void> {
  const q = await openBeeQueue(redisUrl, queue);
  try {
    await beeSaveAll(q, 0, count, 1000);
  } finally {
    await q.close();
  }
}

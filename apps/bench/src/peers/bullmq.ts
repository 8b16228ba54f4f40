import { type JobsOptions, Queue } from 'bullmq';
import { redisOptions } from '../child/runners.js';

/** A BullMQ queue on the bench's Redis. */
export async function openBullQueue(redisUrl: string, name: string): Promise<Queue> {
  const queue = new Queue(name, { connection: redisOptions(redisUrl) });
  await queue.waitUntilReady();
  return queue;
}

/** `add` in a loop, one awaited call per job (as bullmq-bench's queue-add). */
export async function bullAddLoop(queue: Queue, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) await queue.add('noop', { i });
}

/** `addBulk` in batches of `batch`, each job with `opts`. */
export async function bullAddBulk(
  queue: Queue,
  from: number,
  count: number,
  batch: number,
  opts: JobsOptions = {},
): Promise<void> {
  for (let i = from; i < from + count; i += batch) {
    const n = Math.min(batch, from + count - i);
    await queue.addBulk(Array.from({ length: n }, (_, k) => ({ name: 'noop', data: { i: i + k }, opts })));
  }
}

/** Removes the queue and every key it made. */
export async function bullDestroy(queue: Queue): Promise<void> {
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
}

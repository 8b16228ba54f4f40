import BeeQueue from 'bee-queue';
import { redisOptions } from '../child/runners.js';

/** A bee-queue producer (not a worker) on the bench's Redis. */
export async function openBeeQueue(redisUrl: string, name: string): Promise<BeeQueue> {
  const queue = new BeeQueue(name, { redis: redisOptions(redisUrl), isWorker: false, getEvents: false });
  await queue.ready();
  return queue;
}

/** `createJob(...).save()` in a loop. */
export async function beeSaveLoop(queue: BeeQueue, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) await queue.createJob({ i }).save();
}

/** `saveAll` in batches of `batch`. */
export async function beeSaveAll(queue: BeeQueue, from: number, count: number, batch: number): Promise<void> {
  for (let i = from; i < from + count; i += batch) {
    const n = Math.min(batch, from + count - i);
    const errors = await queue.saveAll(Array.from({ length: n }, (_, k) => queue.createJob({ i: i + k })));
    if (errors.size) throw [...errors.values()][0];
  }
}

/** Removes the queue's keys and closes it. */
export async function beeDestroy(queue: BeeQueue): Promise<void> {
  await queue.destroy().catch(() => {});
  await queue.close().catch(() => {});
}

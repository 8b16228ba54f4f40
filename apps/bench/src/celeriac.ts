import { backendFromUrl, brokerFromUrl } from '@celeriac/cli/adapters';
import { type Broker, defineTask, type ResultBackend } from '@celeriac/core';
import { implement, type TaskImplementation } from '@celeriac/core/worker';
import { z } from 'zod';

/** The task every scenario runs: takes a number, returns it (a no-op whose result is stored). */
export const noop = defineTask({
  name: 'bench.noop',
  input: z.object({ i: z.number() }),
  output: z.number(),
});

/** The worker-side implementation of {@link noop}. */
export const noopImpl: TaskImplementation = implement(noop, ({ i }) => i);

// Adapters are loaded by URL at run time, so a missing or unbuilt adapter becomes a visible
// "not run" in the report instead of a build failure of the whole bench.

/** Creates our broker for a URL (`redis://`, `amqp://`, `kafka://`) through its adapter package. */
export function openBroker(url: string): Promise<Broker> {
  return brokerFromUrl(url);
}

/** Creates our result backend for a URL through its adapter package. */
export function openBackend(url: string): Promise<ResultBackend> {
  return backendFromUrl(url);
}

/**
 * Checks that an adapter loads and talks to its service: creates it, runs `depth` on a queue, and
 * closes it. Resolves to `null` when fine, else the reason it cannot be benchmarked.
 */
export async function probeBroker(url: string, queue: string): Promise<string | null> {
  let broker: Broker | undefined;
  try {
    broker = await openBroker(url);
    await withTimeout(broker.depth(queue), 15_000, 'depth()');
    return null;
  } catch (error) {
    return `adapter not usable: ${describeError(error)}`;
  } finally {
    await broker?.close().catch(() => {});
  }
}

/** Rejects when `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** One line for an error, for "not run: <reason>" cells. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]?.slice(0, 200) ?? 'unknown error';
}

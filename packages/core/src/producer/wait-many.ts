import type { TaskHandle } from './result-handle.js';

/** How each handle ended, in input order. */
export type Settled<T> = { readonly id: string } & (
  | { readonly status: 'fulfilled'; readonly value: T }
  | { readonly status: 'rejected'; readonly reason: unknown }
);

/**
 * Waits for many handles at once with one shared deadline; never rejects — each entry says how its
 * task ended. Backends share one subscription across waits, so this scales to many thousands.
 */
export async function waitMany<T>(
  handles: readonly TaskHandle<T>[],
  options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {},
): Promise<Settled<T>[]> {
  const results = await Promise.allSettled(handles.map((h) => h.result(options)));
  return results.map((r, i) => {
    const id = (handles[i] as TaskHandle<T>).id;
    return r.status === 'fulfilled'
      ? { id, status: 'fulfilled', value: r.value }
      : { id, status: 'rejected', reason: r.reason };
  });
}

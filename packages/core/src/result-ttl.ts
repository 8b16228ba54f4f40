import type { TaskMessage } from './message.js';
import type { StoreOptions } from './result-backend.js';

/**
 * Header carrying a task's result time to live in ms (per call, or the contract's default as the
 * producer knew it). Celery has no per-task expiry on the wire; it keeps unknown headers as they
 * are, so a Python worker ignores it and uses its own `result_expires`.
 */
export const RESULT_TTL_HEADER = 'x-celeriac-result-ttl';

function isTtl(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/**
 * How long a task's outcome is kept: the message's header first (the producer's choice), then the
 * contract default the worker knows; `undefined` leaves it to the backend's own TTL.
 */
export function resultStoreOptions(
  message: TaskMessage,
  contractDefault: number | undefined,
): StoreOptions | undefined {
  const header = message.headers[RESULT_TTL_HEADER];
  if (isTtl(header)) return { ttlMs: header };
  return isTtl(contractDefault) ? { ttlMs: contractDefault } : undefined;
}

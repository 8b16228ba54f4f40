import type { RetryPolicy } from './contract.js';

/** Delay before retry number `retry` (1-based): exponential, capped, with full jitter by default. */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const initial = policy.initialDelayMs ?? 1000;
  const factor = policy.factor ?? 2;
  const cap = policy.maxDelayMs ?? 600_000;
  const delay = Math.min(cap, initial * factor ** Math.max(0, retry - 1));
  return Math.round(policy.jitter === false ? delay : random() * delay);
}

/** Header carrying a per-call retry policy override; Celery keeps unknown headers as they are. */
export const RETRY_POLICY_HEADER = 'x-celeriac-retry';

import { TimeLimitExceeded } from '../errors.js';

/** How a run ended. */
export type RunOutcome =
  | { readonly kind: 'returned'; readonly value: unknown }
  | { readonly kind: 'threw'; readonly error: unknown }
  | { readonly kind: 'hard-limit'; readonly error: TimeLimitExceeded };

/** Soft and hard limits for one run, in ms (undefined = none). */
export interface RunLimits {
  readonly softMs?: number | undefined;
  readonly hardMs?: number | undefined;
}

/**
 * Runs `fn` with a soft limit (aborts the signal so the handler can clean up) and a hard limit
 * (stops waiting for it and reports `TimeLimitExceeded`). A JS promise cannot be killed: past the
 * hard limit the handler is abandoned, and its slot is given back.
 */
export async function runWithLimits(
  fn: (signal: AbortSignal) => unknown,
  limits: RunLimits,
  external: AbortSignal,
): Promise<RunOutcome> {
  const controller = new AbortController();
  const onExternal = () => controller.abort(external.reason);
  external.addEventListener('abort', onExternal, { once: true });
  const timers: NodeJS.Timeout[] = [];
  if (limits.softMs !== undefined && limits.softMs > 0) {
    timers.push(
      setTimeout(() => controller.abort(new TimeLimitExceeded(limits.softMs as number)), limits.softMs),
    );
  }
  try {
    const run = Promise.resolve()
      .then(() => fn(controller.signal))
      .then(
        (value): RunOutcome => ({ kind: 'returned', value }),
        (error: unknown): RunOutcome => ({ kind: 'threw', error }),
      );
    if (limits.hardMs === undefined || limits.hardMs <= 0) return await run;
    const hard = new Promise<RunOutcome>((resolve) => {
      timers.push(
        setTimeout(() => {
          const error = new TimeLimitExceeded(limits.hardMs as number);
          controller.abort(error);
          resolve({ kind: 'hard-limit', error });
        }, limits.hardMs),
      );
    });
    return await Promise.race([run, hard]);
  } finally {
    for (const t of timers) clearTimeout(t);
    external.removeEventListener('abort', onExternal);
  }
}

import { TimeLimitExceeded } from '../errors.js';

/** How a run ended. */
export type RunOutcome =
  | { readonly kind: 'returned'; readonly value: unknown }
  | { readonly kind: 'threw'; readonly error: unknown }
  | {
      readonly kind: 'hard-limit';
      readonly error: TimeLimitExceeded;
      /** Settles when the abandoned handler really ends (it cannot be killed). */
      readonly settled: Promise<void>;
    };

/**
 * Node's longest timer (2^31 − 1 ms, about 24.8 days): a longer one fires at once. A limit a
 * message asks for beyond it is held to it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A limit as a timer can keep it: at most {@link MAX_TIMER_MS}; none when unset or not positive. */
function timerMs(ms: number | undefined): number | undefined {
  return ms !== undefined && ms > 0 ? Math.min(ms, MAX_TIMER_MS) : undefined;
}

/** Soft and hard limits for one run, in ms (undefined = none). */
export interface RunLimits {
  readonly softMs?: number | undefined;
  readonly hardMs?: number | undefined;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Runs `fn` with a soft limit (aborts the signal so the handler can clean up) and a hard limit
 * (stops waiting for it and reports `TimeLimitExceeded`). A JS promise cannot be killed: past the
 * hard limit the handler is abandoned, and `settled` tells when it really ended, so the caller can
 * keep its slot until then.
 *
 * `fn` gets the signal through a getter (and a second one, `kill`, that fires on all of these but
 * the soft limit: a run in a worker thread is terminated on it): the AbortController (and its listener on `external`) is
 * only made for handlers that ask for it, which most never do, and an abort that came first is
 * still seen.
 *
 * With no hard limit and a handler that returns a plain value, the outcome comes back
 * synchronously: no promise, no microtask, for the most common task of all.
 */
export function runWithLimits(
  fn: (signal: () => AbortSignal, kill: () => AbortSignal) => unknown,
  limits: RunLimits,
  external: AbortSignal,
  onAbortable?: (abort: (reason: unknown) => void) => void,
): RunOutcome | Promise<RunOutcome> {
  let controller: AbortController | undefined;
  let abortedWith: { reason: unknown } | undefined;
  // The kill signal fires on everything but the soft limit: what must end the run for good.
  let killer: AbortController | undefined;
  let killedWith: { reason: unknown } | undefined;
  let listening = false;
  const abort = (reason: unknown) => {
    if (abortedWith) return;
    abortedWith = { reason };
    controller?.abort(reason);
  };
  const kill = (reason: unknown) => {
    abort(reason);
    if (killedWith) return;
    killedWith = { reason };
    killer?.abort(reason);
  };
  // Who else may abort this run (a terminate): handed the same closure, nothing allocated.
  onAbortable?.(kill);
  const onExternal = () => kill(external.reason);
  const listen = () => {
    if (listening) return;
    listening = true;
    if (!killedWith && external.aborted) kill(external.reason);
    else external.addEventListener('abort', onExternal, { once: true });
  };
  const signal = (): AbortSignal => {
    if (!controller) {
      controller = new AbortController();
      listen();
      if (abortedWith) controller.abort(abortedWith.reason);
    }
    return controller.signal;
  };
  const killSignal = (): AbortSignal => {
    if (!killer) {
      killer = new AbortController();
      listen();
      if (killedWith) killer.abort(killedWith.reason);
    }
    return killer.signal;
  };
  const timers: NodeJS.Timeout[] = [];
  const softMs = timerMs(limits.softMs);
  if (softMs !== undefined) timers.push(setTimeout(() => abort(new TimeLimitExceeded(softMs)), softMs));
  const cleanup = () => {
    for (const t of timers) clearTimeout(t);
    if (listening) external.removeEventListener('abort', onExternal);
  };
  const ended = <T extends RunOutcome>(outcome: T): T => {
    cleanup();
    return outcome;
  };
  const hardMs = timerMs(limits.hardMs);
  if (hardMs === undefined) {
    // Nothing to race: run the handler here, awaiting only what it returns.
    let value: unknown;
    try {
      value = fn(signal, killSignal);
    } catch (error) {
      return ended({ kind: 'threw', error });
    }
    if (!isThenable(value)) return ended({ kind: 'returned', value });
    return Promise.resolve(value).then(
      (v) => ended({ kind: 'returned', value: v }),
      (error: unknown) => ended({ kind: 'threw', error }),
    );
  }
  const run = Promise.resolve()
    .then(() => fn(signal, killSignal))
    .then(
      (value): RunOutcome => ({ kind: 'returned', value }),
      (error: unknown): RunOutcome => ({ kind: 'threw', error }),
    );
  const hard = new Promise<RunOutcome>((resolve) => {
    timers.push(
      setTimeout(() => {
        const error = new TimeLimitExceeded(hardMs);
        kill(error);
        resolve({ kind: 'hard-limit', error, settled: run.then(() => undefined) });
      }, hardMs),
    );
  });
  return Promise.race([run, hard]).then(ended);
}

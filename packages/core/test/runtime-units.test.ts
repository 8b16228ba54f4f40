import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { CeleriacError, NonRetriableError, TimeLimitExceeded, ValidationError } from '../src/errors.js';
import { callToInput, inputToCall } from '../src/input-mapping.js';
import { TaskState } from '../src/result-backend.js';
import { buildMeta, fromExceptionInfo, toExceptionInfo } from '../src/result-meta.js';
import { backoffDelay } from '../src/retry-policy.js';
import { runWithLimits } from '../src/worker/run-with-limits.js';

const add = defineTask({
  name: 'demo.add',
  input: z.object({ x: z.number(), y: z.number() }),
  output: z.number(),
});
const square = defineTask({ name: 'demo.square', input: z.number(), output: z.number() });

describe('input mapping', () => {
  it('sends an object input as kwargs and maps positional args onto keys in schema order', () => {
    expect(add.argNames).toEqual(['x', 'y']);
    expect(inputToCall(add, { x: 1, y: 2 })).toEqual({ args: [], kwargs: { x: 1, y: 2 } });
    expect(callToInput(add, [1, 2], {})).toEqual({ x: 1, y: 2 });
    expect(callToInput(add, [1], { y: 5 })).toEqual({ x: 1, y: 5 });
  });

  it('sends a non-object input as the single positional argument', () => {
    expect(square.argNames).toBeUndefined();
    expect(inputToCall(square, 4)).toEqual({ args: [4], kwargs: {} });
    expect(callToInput(square, [4], {})).toBe(4);
  });
});

describe('backoff', () => {
  it('grows exponentially, caps, and jitters within [0, delay]', () => {
    const policy = { max: 10, initialDelayMs: 100, factor: 2, maxDelayMs: 1000, jitter: false };
    expect([1, 2, 3, 4, 5, 6].map((r) => backoffDelay(policy, r))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay({ ...policy, jitter: true }, 3, () => 0.5)).toBe(200);
    expect(backoffDelay({ ...policy, jitter: true }, 3, () => 0)).toBe(0);
  });
});

describe('errors', () => {
  it('carry a literal code, retriable, cause and a stable prefix', () => {
    const cause = new Error('root');
    const e = new ValidationError('demo.add', 'input', [{ message: 'Expected number', path: ['x'] }], {
      cause,
    });
    expect(e.code).toBe('VALIDATION_FAILED');
    expect(e.retriable).toBe(false);
    expect(e.cause).toBe(cause);
    expect(e.name).toBe('ValidationError');
    expect(e.message).toBe(
      '[celeriac:VALIDATION_FAILED] invalid input for task demo.add: x: Expected number',
    );
    expect(CeleriacError.is(e)).toBe(true);
    expect(CeleriacError.is(new Error('x'))).toBe(false);
  });

  it('encode in Celery form that Python can raise', () => {
    expect(toExceptionInfo(new TypeError('bad'))).toEqual({
      exc_type: 'TypeError',
      exc_message: ['bad'],
      exc_module: 'builtins',
    });
    expect(toExceptionInfo(new TimeLimitExceeded(5)).exc_module).toBe('celery.exceptions');
    const info = toExceptionInfo(new NonRetriableError('stop'));
    expect(info).toEqual({
      exc_type: 'NonRetriableError',
      exc_message: ['stop', { code: 'NON_RETRIABLE', retriable: false }],
      exc_module: 'celeriac.errors',
    });
    expect(fromExceptionInfo(info)).toEqual({
      excType: 'NonRetriableError',
      excMessage: 'stop',
      excModule: 'celeriac.errors',
    });
    expect(
      fromExceptionInfo({ exc_type: 'ValueError', exc_message: 'plain', exc_module: 'builtins' }).excMessage,
    ).toBe('plain');
  });

  it('build Celery metas: ready states have date_done, failures a traceback', () => {
    const failure = buildMeta(TaskState.FAILURE, 'id1', new Error('boom'));
    expect(failure.date_done).toMatch(/\+00:00$/);
    expect(failure.traceback).toContain('boom');
    expect(buildMeta(TaskState.STARTED, 'id2', { pid: 1 }).date_done).toBeNull();
  });
});

describe('runWithLimits', () => {
  const never = new AbortController().signal;

  it('aborts the signal at the soft limit and lets the handler finish', async () => {
    const outcome = await runWithLimits(
      (signal) =>
        new Promise((resolve) =>
          signal().addEventListener('abort', () => resolve(`aborted: ${(signal().reason as Error).name}`)),
        ),
      { softMs: 30 },
      never,
    );
    expect(outcome).toEqual({ kind: 'returned', value: 'aborted: TimeLimitExceeded' });
  });

  it('hands an already aborted signal to a handler that asks after the abort', async () => {
    const outcome = await runWithLimits(
      async (signal) => {
        await new Promise((r) => setTimeout(r, 60));
        return `${signal().aborted} ${(signal().reason as Error).name}`;
      },
      { softMs: 20 },
      never,
    );
    expect(outcome).toEqual({ kind: 'returned', value: 'true TimeLimitExceeded' });
  });

  it('passes on the shutdown abort to a handler that asks for its signal', async () => {
    const shutdown = new AbortController();
    shutdown.abort(new Error('worker shutting down'));
    const outcome = await runWithLimits((signal) => (signal().reason as Error).message, {}, shutdown.signal);
    expect(outcome).toEqual({ kind: 'returned', value: 'worker shutting down' });
  });

  it('abandons a handler that ignores its signal at the hard limit', async () => {
    const outcome = await runWithLimits(() => new Promise(() => {}), { hardMs: 30 }, never);
    expect(outcome.kind).toBe('hard-limit');
  });

  it("returns a sync handler's outcome synchronously, its soft timer and shutdown listener gone", () => {
    const shutdown = new AbortController();
    let seen: AbortSignal | undefined;
    const outcome = runWithLimits(
      (signal) => {
        seen = signal();
        return 42;
      },
      { softMs: 20 },
      shutdown.signal,
    );
    expect(outcome).toEqual({ kind: 'returned', value: 42 });
    // Cleaned up at once: a later shutdown does not reach the finished run.
    shutdown.abort(new Error('late'));
    expect(seen?.aborted).toBe(false);
  });

  it('reports a rejected promise as thrown, and a sync throw without a promise', async () => {
    const rejected = runWithLimits(() => Promise.reject(new Error('no')), {}, never);
    expect(rejected).toBeInstanceOf(Promise);
    expect((await rejected).kind).toBe('threw');
    const thrown = runWithLimits(
      () => {
        throw new Error('sync');
      },
      {},
      never,
    );
    expect(thrown).toEqual({ kind: 'threw', error: new Error('sync') });
  });

  it('reports a thrown error', async () => {
    const outcome = await runWithLimits(
      () => {
        throw new Error('x');
      },
      {},
      never,
    );
    expect(outcome.kind).toBe('threw');
  });
});

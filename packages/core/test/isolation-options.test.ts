import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { CeleriacError, ConfigError, RetryAfterError } from '../src/errors.js';
import { implement } from '../src/worker/index.js';
import { runWithLimits } from '../src/worker/run-with-limits.js';
import { errorFromData, errorToData } from '../src/worker/thread/thread-messages.js';

const add = defineTask({ name: 'iso.add', input: z.object({ x: z.number() }), output: z.number() });

describe("isolation: 'thread'", () => {
  it('needs the module that exports the implementation, and refuses unknown isolations', () => {
    expect(() => implement(add, ({ x }) => x, { isolation: 'thread' })).toThrow(ConfigError);
    expect(() =>
      implement(add, ({ x }) => x, { isolation: 'process' as 'thread', module: 'file:///x.js' }),
    ).toThrow(/isolation must be/);
    const impl = implement(add, ({ x }) => x, { isolation: 'thread', module: 'file:///tasks.js' });
    expect(impl).toMatchObject({ isolation: 'thread', module: 'file:///tasks.js' });
    expect(implement(add, ({ x }) => x).isolation).toBeUndefined();
  });

  it('brings an error back across a structured clone with what the worker decides on', () => {
    const data = structuredClone(errorToData(new RetryAfterError('later', 250)));
    const back = errorFromData(data);
    expect(CeleriacError.is(back, 'RETRY_AFTER')).toBe(true);
    expect(back).toMatchObject({ name: 'RetryAfterError', delayMs: 250, retriable: true });
    expect(back.message).toContain('later');
    const plain = errorFromData(structuredClone(errorToData(new TypeError('bad'))));
    expect(CeleriacError.is(plain)).toBe(false);
    expect(plain).toMatchObject({ name: 'TypeError', message: 'bad' });
  });

  it('fires the kill signal at the hard limit, not at the soft one', async () => {
    let signal: AbortSignal | undefined;
    let kill: AbortSignal | undefined;
    let softSeen = false;
    const outcome = await runWithLimits(
      (s, k) => {
        signal = s();
        kill = k();
        return new Promise((resolve) => {
          signal?.addEventListener('abort', () => {
            softSeen = kill?.aborted === false;
          });
          kill?.addEventListener('abort', () => resolve('killed'));
        });
      },
      { softMs: 20, hardMs: 200 },
      new AbortController().signal,
    );
    expect(softSeen).toBe(true);
    expect(outcome.kind).toBe('hard-limit');
    expect(kill?.aborted).toBe(true);
  });
});

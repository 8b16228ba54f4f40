import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { CeleriacError, RemoteTaskError, RetryAfterError } from '../src/errors.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { createClient } from '../src/producer/index.js';
import type { AnySchema } from '../src/schema.js';
import { createWorker, implement, type Worker } from '../src/worker/index.js';
import { RecordingBroker } from './recording-broker.js';

const MARK: unique symbol = Symbol.for('celeriac.error');

/**
 * What a second copy of `@celeriac/core` (e.g. a tasks module with its own install) throws: the
 * same code and mark, but a class of its own, so `instanceof` against this copy's classes fails.
 */
class ForeignCeleriacError extends Error {
  readonly [MARK] = true;
  constructor(
    readonly code: string,
    readonly retriable: boolean,
    message: string,
    readonly delayMs?: number,
  ) {
    super(message);
  }
}

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 100 })));
});

describe('CeleriacError.is with a code', () => {
  it('checks the mark and the code, whichever copy of the class made the error', () => {
    expect(CeleriacError.is(new RetryAfterError('later', 5), 'RETRY_AFTER')).toBe(true);
    expect(CeleriacError.is(new RetryAfterError('later', 5), 'NON_RETRIABLE')).toBe(false);
    const foreign = new ForeignCeleriacError('RETRY_AFTER', true, 'later', 5);
    expect(foreign).not.toBeInstanceOf(RetryAfterError);
    expect(CeleriacError.is(foreign, 'RETRY_AFTER')).toBe(true);
    expect(CeleriacError.is({ code: 'RETRY_AFTER', delayMs: 5 }, 'RETRY_AFTER')).toBe(false);
    expect(CeleriacError.is(null, 'RETRY_AFTER')).toBe(false);
  });
});

describe('errors from another copy of core, thrown by user code', () => {
  it("honour a RetryAfterError's delay", async () => {
    const broker = new RecordingBroker();
    const backend = new MemoryResultBackend();
    const slow = defineTask({ name: 'codes.slow', input: z.object({}), output: z.number() });
    const worker = createWorker({
      broker,
      backend,
      queues: ['celery'],
      tasks: [
        implement(slow, () => {
          throw new ForeignCeleriacError('RETRY_AFTER', true, 'rate limited', 60_000);
        }),
      ],
      defaultRetry: { max: 3, initialDelayMs: 1, jitter: false },
    });
    workers.push(worker);
    const retried = new Promise<number>((resolve) => worker.on('task-retried', (e) => resolve(e.delayMs)));
    await worker.start();
    const handle = await createClient({ broker, backend }).enqueue(slow, {});
    expect(await retried).toBe(60_000);
    const retry = broker.sent.find((o) => o.message.headers.retries === 1);
    expect(retry?.delayMs).toBe(60_000);
    expect((await handle.status()).state).toBe('RETRY');
    await broker.close();
  });

  it('dead-letter input that a user schema rejects with its own ValidationError', async () => {
    const broker = new RecordingBroker();
    const backend = new MemoryResultBackend();
    const picky: AnySchema = {
      '~standard': {
        version: 1,
        vendor: 'user',
        validate: () => {
          throw new ForeignCeleriacError('VALIDATION_FAILED', false, 'invalid input: no');
        },
      },
    };
    const strict = defineTask({ name: 'codes.strict', input: picky, output: z.number() });
    const worker = createWorker({ broker, backend, tasks: [implement(strict, () => 1)] });
    workers.push(worker);
    await worker.start();
    // `send` skips the producer's validation, as a Python caller would.
    const handle = await createClient({ broker, backend }).send('codes.strict', { args: [1] });
    const error = await handle.result({ timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteTaskError);
    const dead = await broker.readDeadLetters('celery');
    expect(dead.map((d) => d.reason)).toEqual([{ code: 'VALIDATION_FAILED', message: 'invalid input: no' }]);
    expect(worker.stats()).toMatchObject({ rejected: 1, failed: 0 });
  });
});

import { type AnySchema, defineTask, MemoryBroker } from '@celeriac/core';
import { createClient } from '@celeriac/core/producer';
import { createWorker, implement } from '@celeriac/core/worker';
import { requireService } from '@celeriac/test-services';
import { afterEach, describe, expect, it } from 'vitest';
import { backend, closeAll, REDIS_URL, raw } from './helpers.js';

const up = await requireService('redis', REDIS_URL);

/** A pass-through Standard Schema typed as T (this package has no schema library). */
function anyOf<T>(): AnySchema & { readonly '~standard': { readonly types?: { input: T; output: T } } } {
  return { '~standard': { version: 1, vendor: 'test', validate: (value: unknown) => ({ value }) } };
}

const report = defineTask({
  name: 'ttl.report',
  input: anyOf<{ n: number }>(),
  output: anyOf<number>(),
  defaults: { queue: 'ttl-redis', resultTtlMs: 120_000 },
});

describe.skipIf(!up)('per-task result expiry on Redis', () => {
  afterEach(closeAll);

  it("expires a result after the contract's resultTtlMs, or the per-call one, not the backend's day", async () => {
    const broker = new MemoryBroker();
    const b = backend();
    const worker = createWorker({ broker, backend: b, tasks: [implement(report, ({ n }) => n)] });
    await worker.start();
    try {
      const client = createClient({ broker, backend: b });
      const byContract = await client.enqueue(report, { n: 1 });
      const perCall = await client.enqueue(report, { n: 2 }, { resultTtlMs: 30_500 });
      const forever = await client.enqueue(report, { n: 3 }, { resultTtlMs: 0 });
      for (const h of [byContract, perCall, forever]) await h.result({ timeoutMs: 10_000 });
      const r = raw();
      const contractTtl = await r.pttl(`celery-task-meta-${byContract.id}`);
      expect(contractTtl).toBeGreaterThan(60_000);
      expect(contractTtl).toBeLessThanOrEqual(120_000);
      const callTtl = await r.pttl(`celery-task-meta-${perCall.id}`);
      expect(callTtl).toBeGreaterThan(10_000);
      expect(callTtl).toBeLessThanOrEqual(30_500);
      expect(await r.pttl(`celery-task-meta-${forever.id}`)).toBe(-1);
      await r.del(`celery-task-meta-${forever.id}`);
    } finally {
      await worker.stop({ graceMs: 500 });
    }
  });
});

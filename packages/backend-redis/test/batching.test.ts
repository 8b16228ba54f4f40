import { randomUUID } from 'node:crypto';
import { BrokerError, TaskState } from '@celeriac/core';
import { buildMeta } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { afterEach, describe, expect, it } from 'vitest';
import { backend, closeAll, REDIS_URL, raw } from './helpers.js';

const up = await requireService('redis', REDIS_URL);

describe.skipIf(!up)('store() micro-batching', () => {
  afterEach(closeAll);

  it('sends the stores of one turn as one pipeline, and every result lands', async () => {
    const b = backend();
    const ids = Array.from({ length: 200 }, () => randomUUID());
    await Promise.all(ids.map((id, i) => b.store(buildMeta(TaskState.SUCCESS, id, i))));
    expect(b.diagnostics().storeRoundTrips).toBe(1);
    expect((await b.getMany(ids)).map((m) => m?.result)).toEqual(ids.map((_, i) => i));
  });

  it('cuts batches at maxBatchSize, and sends one round trip per store when batching is off', async () => {
    const small = backend({ maxBatchSize: 50 });
    const off = backend({ batchStores: false });
    const ids = Array.from({ length: 200 }, () => randomUUID());
    await Promise.all(ids.map((id) => small.store(buildMeta(TaskState.SUCCESS, id, 1))));
    await Promise.all(ids.map((id) => off.store(buildMeta(TaskState.SUCCESS, `${id}-off`, 1))));
    expect(small.diagnostics().storeRoundTrips).toBe(4);
    expect(off.diagnostics().storeRoundTrips).toBe(200);
    expect((await off.getMany(ids.map((id) => `${id}-off`))).every((m) => m?.status === 'SUCCESS')).toBe(
      true,
    );
  });

  it('settles each store on its own: one failing write does not fail its batch mates', async () => {
    const b = backend();
    const [good1, bad, good2] = [randomUUID(), randomUUID(), randomUUID()];
    // A key of the wrong type makes the script's GET fail for that item only.
    await raw().rpush(`celery-task-meta-${bad}`, 'x');
    const outcomes = await Promise.allSettled(
      [good1, bad, good2].map((id) => b.store(buildMeta(TaskState.SUCCESS, id, id))),
    );
    expect(b.diagnostics().storeRoundTrips).toBe(1);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const error = (outcomes[1] as PromiseRejectedResult).reason;
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).message).toContain('WRONGTYPE');
    expect((await b.get(good2))?.result).toBe(good2);
    await raw().del(`celery-task-meta-${bad}`);
  });
});

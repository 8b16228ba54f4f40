import { randomUUID } from 'node:crypto';
import { type ResultMeta, TaskState } from '@celeriac/core';
import { buildMeta } from '@celeriac/core/adapter';
import { afterAll, bench, describe } from 'vitest';
import { RedisResultBackend } from '../src/index.js';

// Run: pnpm exec vitest bench --run --project backend-redis
// One iteration stores 10 000 results; stores/s = 10 000 × hz.
const URL = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const N = 10_000;
const batched = new RedisResultBackend({ url: URL });
const unbatched = new RedisResultBackend({ url: URL, batchStores: false });
// Short TTL: the benchmark leaves nothing behind for long.
const ttl = { ttlMs: 60_000 };

function metas(): ResultMeta[] {
  return Array.from({ length: N }, (_, i) => buildMeta(TaskState.SUCCESS, randomUUID(), { i, ok: true }));
}

afterAll(async () => {
  await Promise.all([batched.close(), unbatched.close()]);
});

const options = { iterations: 5, warmupIterations: 1, time: 0, warmupTime: 0 };

describe(`store ${N} results`, () => {
  bench(
    'concurrent, micro-batched (one pipeline per turn)',
    async () => {
      await Promise.all(metas().map((m) => batched.store(m, ttl)));
    },
    options,
  );

  bench(
    'concurrent, not batched (one EVALSHA write each)',
    async () => {
      await Promise.all(metas().map((m) => unbatched.store(m, ttl)));
    },
    options,
  );

  bench(
    'sequential (await each store)',
    async () => {
      for (const m of metas()) await unbatched.store(m, ttl);
    },
    { ...options, iterations: 2 },
  );
});

describe(`wait for ${N} results`, () => {
  const waiter = new RedisResultBackend({ url: URL });
  afterAll(() => waiter.close());

  bench(
    'subscribe, then store and receive each result (one subscriber connection)',
    async () => {
      const batch = metas();
      const waits = batch.map((m) => waiter.wait(m.task_id, { timeoutMs: 60_000 }));
      await Promise.all(batch.map((m) => batched.store(m, ttl)));
      await Promise.all(waits);
    },
    options,
  );
});

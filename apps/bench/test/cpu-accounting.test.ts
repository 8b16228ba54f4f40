import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { requireService } from '@celeriac/test-services';
import { describe, expect, it } from 'vitest';
import { loadConfig, uniqueName } from '../src/config.js';
import { cleanRun, openRedis, redisCpuMs } from '../src/redis-tools.js';

const redisUrl = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const up = await requireService('redis', redisUrl);
// Worker processes are forked from the built bench, as `./scripts/bench` runs them.
const builtDrain = new URL('../dist/scenarios/drain.js', import.meta.url);

describe.skipIf(!up)('bench CPU accounting', () => {
  it('reads the Redis server CPU time, which grows with the work it does', async () => {
    const redis = openRedis(redisUrl);
    const key = `bench-cpu-test-${process.pid}`;
    try {
      const before = await redisCpuMs(redis);
      const pipeline = redis.pipeline();
      for (let i = 0; i < 20_000; i++) pipeline.set(key, String(i));
      await pipeline.exec();
      const after = await redisCpuMs(redis);
      expect(Number.isFinite(before)).toBe(true);
      expect(after).toBeGreaterThan(before);
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });

  it('reports the worker processes and Redis CPU per task of a drain', async () => {
    expect(existsSync(fileURLToPath(builtDrain)), 'build the bench first (pnpm exec turbo run build)').toBe(
      true,
    );
    const { drain } = (await import(builtDrain.href)) as typeof import('../src/scenarios/drain.js');
    const config = loadConfig('quick', { ...process.env, CELERIAC_REDIS_URL: redisUrl });
    const redis = openRedis(config.redisUrl);
    try {
      const ctx = { config, redis, log: () => {}, shared: new Map<string, number>() };
      const r = await drain(ctx, 'Celeriac', uniqueName(config, 'cpu-test'), 500, 10, 2);
      expect(r.count).toBe(500);
      const cpu = r.cpu;
      expect(cpu).toBeDefined();
      for (const v of [cpu?.workerUsPerTask, cpu?.redisUsPerTask, cpu?.workerCoreShare]) {
        expect(Number.isFinite(v)).toBe(true);
        expect(v).toBeGreaterThan(0);
      }
    } finally {
      await cleanRun(redis, config.runId);
      redis.disconnect();
    }
  }, 60_000);
});

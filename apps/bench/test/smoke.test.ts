import { requireService } from '@celeriac/test-services';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { cleanRun, openRedis } from '../src/redis-tools.js';
import { enqueueScenario } from '../src/scenarios/enqueue.js';

const redisUrl = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const up = await requireService('redis', redisUrl);

describe.skipIf(!up)('bench quick mode, enqueue scenario, in process', () => {
  it('measures every producer and returns finite, positive numbers', async () => {
    const config = loadConfig('quick', { ...process.env, CELERIAC_REDIS_URL: redisUrl });
    const redis = openRedis(config.redisUrl);
    const shared = new Map<string, number>();
    try {
      const result = await enqueueScenario.run({ config, redis, log: () => {}, shared });
      expect(result.notRun).toBeUndefined();
      // Ours and both Node peers must have run; only Celery may be missing (no virtualenv).
      expect(result.skipped.filter((s) => !s.startsWith('Celery'))).toEqual([]);
      expect([...shared.keys()].sort()).toEqual(['enqueue/bulk 1000', 'enqueue/bulk 50', 'enqueue/single']);
      expect(result.numbers.length).toBeGreaterThanOrEqual(9);
      for (const n of result.numbers) {
        expect(Number.isFinite(n)).toBe(true);
        expect(n).toBeGreaterThan(0);
      }
      expect(result.tables[0]?.rows.map((r) => r[0])).toEqual(['single', 'bulk 50', 'bulk 1000']);
    } finally {
      await cleanRun(redis, config.runId);
      redis.disconnect();
    }
  });

  it('leaves nothing of the run on Redis', async () => {
    const config = loadConfig('quick');
    const redis = openRedis(redisUrl);
    try {
      await redis.lpush(`bench-${config.runId}-leftover`, 'x');
      await cleanRun(redis, config.runId);
      expect(await redis.exists(`bench-${config.runId}-leftover`)).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});

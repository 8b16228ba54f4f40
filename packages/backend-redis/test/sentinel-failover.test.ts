import { randomUUID } from 'node:crypto';
import { TaskState } from '@celeriac/core';
import { buildMeta } from '@celeriac/core/adapter';
import { type OwnSentinelSet, startRedisSentinelSet } from '@celeriac/test-services';
import { waitFor } from '@celeriac/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisResultBackend } from '../src/index.js';
import { redisServerAvailable } from './redis-process.js';

const canSpawn = redisServerAvailable();

describe.skipIf(!canSpawn)('redis result backend across a Sentinel failover', () => {
  let set: OwnSentinelSet | undefined;
  const backends: RedisResultBackend[] = [];
  beforeAll(async () => {
    set = await startRedisSentinelSet();
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled(backends.map((b) => b.close()));
    await set?.stop();
  });

  it('keeps results stored before, and a wait() begun before it sees a result stored after', async () => {
    if (!set) throw new Error('no sentinel set');
    const waiter = new RedisResultBackend({ url: set.url });
    const writer = new RedisResultBackend({ url: set.url });
    backends.push(waiter, writer);
    const before = randomUUID();
    const after = randomUUID();
    await writer.store(buildMeta(TaskState.SUCCESS, before, 'stored before'));
    const waiting = waiter.wait(after, { timeoutMs: 30_000 });

    await set.failover();

    // As a worker would: a store refused during the switch is sent again.
    const meta = buildMeta(TaskState.SUCCESS, after, 'stored after');
    await waitFor(
      () =>
        writer.store(meta).then(
          () => true,
          () => false,
        ),
      {
        intervalMs: 100,
        timeoutMs: 30_000,
        what: 'the store to be accepted',
      },
    );
    expect((await waiting).result).toBe('stored after');
    expect((await waiter.get(before))?.result).toBe('stored before');
  }, 90_000);
});

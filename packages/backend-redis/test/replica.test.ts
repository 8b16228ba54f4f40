import { randomUUID } from 'node:crypto';
import { TaskState } from '@celeriac/core';
import { buildMeta, encodeJson } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { waitFor } from '@celeriac/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisResultBackend } from '../src/index.js';
import { backend, closeAll, raw } from './helpers.js';
import { freePort, type RedisProcess, redisServerAvailable, startRedis } from './redis-process.js';

const SENTINELS = process.env.CELERIAC_REDIS_SENTINELS ?? '127.0.0.1:26379';
const MASTER = process.env.CELERIAC_REDIS_SENTINEL_MASTER ?? 'mymaster';
const canSpawn = redisServerAvailable();
const sentinelUp = await requireService('redis-sentinel', `redis+sentinel://${SENTINELS}`);

/** Names of the connections a server sees. */
async function clientNames(url: string): Promise<string[]> {
  const list = (await raw(url).client('LIST')) as string;
  return [...list.matchAll(/ name=(\S*) /g)].map((m) => m[1] ?? '');
}

describe.skipIf(!canSpawn)('read/write split with a replica', () => {
  let primary: RedisProcess;
  let replica: RedisProcess;
  let primaryUrl: string;
  let replicaUrl: string;

  beforeAll(async () => {
    const [p, r] = [await freePort(), await freePort()];
    primary = await startRedis(p, ['--port', String(p)]);
    // A writable replica lets the test plant a value only reads can see.
    replica = await startRedis(r, [
      '--port',
      String(r),
      '--replicaof',
      '127.0.0.1',
      String(p),
      '--replica-read-only',
      'no',
    ]);
    primaryUrl = `redis://127.0.0.1:${p}`;
    replicaUrl = `redis://127.0.0.1:${r}`;
    await waitFor(
      async () => ((await raw(replicaUrl).info('replication')) as string).includes('master_link_status:up'),
      {
        what: 'replication link',
      },
    );
  });
  afterEach(closeAll);
  afterAll(async () => {
    await closeAll();
    await replica?.stop();
    await primary?.stop();
  });

  it('writes and waits on the primary, reads get/getMany from the replica', async () => {
    const name = `celeriac-test-${randomUUID()}`;
    const b = backend({ url: primaryUrl, readUrl: replicaUrl, connectionName: name });
    const id = randomUUID();
    await b.store(buildMeta(TaskState.SUCCESS, id, 'from primary'));
    expect(await raw(primaryUrl).get(`celery-task-meta-${id}`)).not.toBeNull();
    await waitFor(async () => (await b.get(id)) !== null, { what: 'replication of the result' });
    // Plant a different value on the replica only: reads see it, waits (primary) do not.
    await raw(replicaUrl).set(
      `celery-task-meta-${id}`,
      encodeJson(buildMeta(TaskState.SUCCESS, id, 'replica only')),
    );
    expect((await b.get(id))?.result).toBe('replica only');
    expect((await b.getMany([id]))[0]?.result).toBe('replica only');
    expect((await b.wait(id, { timeoutMs: 5000 })).result).toBe('from primary');
    expect(await clientNames(replicaUrl)).toContain(`${name}:read`);
    expect(await clientNames(primaryUrl)).toEqual(expect.arrayContaining([name, `${name}:sub`]));
  });

  it('takes the replica from the readUrl URL parameter', async () => {
    const b = new RedisResultBackend({ url: `${primaryUrl}?readUrl=${encodeURIComponent(replicaUrl)}` });
    try {
      const id = randomUUID();
      await raw(replicaUrl).set(
        `celery-task-meta-${id}`,
        encodeJson(buildMeta(TaskState.SUCCESS, id, 'replica')),
      );
      expect((await b.get(id))?.result).toBe('replica');
      expect(await b.wait(id, { timeoutMs: 300 }).catch((e: unknown) => (e as Error).name)).toBe(
        'ResultTimeoutError',
      );
    } finally {
      await b.close();
    }
  });
});

describe.skipIf(!sentinelUp)('redis+sentinel://', () => {
  afterEach(closeAll);

  it('finds the master through the sentinel and reads from its replica with readFromReplica=true', async () => {
    const name = `celeriac-test-${randomUUID()}`;
    const b = backend({
      url: `redis+sentinel://${SENTINELS}/${MASTER}?readFromReplica=true`,
      connectionName: name,
    });
    const id = randomUUID();
    const waiting = b.wait(id, { timeoutMs: 10_000 });
    await b.store(buildMeta(TaskState.SUCCESS, id, 'via sentinel'));
    expect((await waiting).result).toBe('via sentinel');
    await waitFor(async () => (await b.get(id))?.result === 'via sentinel', {
      what: 'read from the replica',
    });
    const sentinel = raw(`redis://${SENTINELS.split(',')[0]}`);
    const [host, port] = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', MASTER)) as [
      string,
      string,
    ];
    expect(await clientNames(`redis://${host}:${port}`)).toEqual(
      expect.arrayContaining([name, `${name}:sub`]),
    );
    expect(await clientNames(`redis://${host}:${port}`)).not.toContain(`${name}:read`);
    const replicas = (await sentinel.call('SENTINEL', 'replicas', MASTER)) as string[][];
    const replicaNames = await Promise.all(
      replicas.map((fields) =>
        clientNames(`redis://${fields[fields.indexOf('ip') + 1]}:${fields[fields.indexOf('port') + 1]}`),
      ),
    );
    expect(replicaNames.flat()).toContain(`${name}:read`);
  });
});

import { randomUUID } from 'node:crypto';
import { ConfigError } from '@celeriac/core';
import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { sleep, uniqueName, waitFor } from '@celeriac/testkit';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { RedisBrokerOptions } from '../src/index.js';
import { brokerPool, publishUntilAccepted, redisUrl } from './helpers.js';
import { type OwnRedis, startRedis } from './redis-server.js';

const up = await requireService('redis', redisUrl);

describe.skipIf(!up)('connections', () => {
  const pool = brokerPool();
  const servers: OwnRedis[] = [];
  const broker = (options: RedisBrokerOptions = {}) => pool.make(options);
  afterEach(async () => {
    await pool.closeAll();
    await Promise.allSettled(servers.splice(0).map((s) => s.stop()));
  });

  it('resumes consuming after its connections are killed (CLIENT KILL)', async () => {
    const admin = new Redis(redisUrl);
    const name = `kill-${randomUUID().slice(0, 8)}`;
    const queue = uniqueName('kill');
    const b = broker({ redis: { connectionName: name } });
    const producer = broker();
    const got: Delivery[] = [];
    const errors: string[] = [];
    await b.consume({
      queues: [queue],
      prefetch: 5,
      onDelivery: (d) => {
        got.push(d);
        void d.ack();
      },
      onError: (e) => errors.push(e.message),
    });
    await producer.publish({ queue, message: createTaskMessage({ task: 'before' }) });
    await waitFor(() => got.length === 1, { what: 'first delivery' });
    await sleep(100); // parked in BLPOP again
    const clients = (await admin.client('LIST')) as string;
    const ids = clients
      .split('\n')
      .filter((line) => line.includes(` name=${name}:`))
      .map((line) => /\bid=(\d+)/.exec(line)?.[1]);
    expect(ids.length).toBeGreaterThanOrEqual(2); // the command and the blocking connection
    for (const id of ids) await admin.client('KILL', 'ID', String(id));
    await producer.publishMany(
      Array.from({ length: 20 }, (_, i) => ({ queue, message: createTaskMessage({ task: `after-${i}` }) })),
    );
    await waitFor(() => got.length === 21, { timeoutMs: 15_000, what: 'deliveries after the kill' });
    await sleep(300);
    expect(new Set(got.map((d) => (d.kind === 'task' ? d.message.headers.id : ''))).size).toBe(21);
    admin.disconnect();
  });

  it('loses nothing when Redis restarts mid-run', async () => {
    // Its own server with an fsync'd append-only file, so a restart keeps the data.
    const server = await startRedis(['--appendonly', 'yes', '--appendfsync', 'always']);
    servers.push(server);
    const url = `redis://127.0.0.1:${server.port}`;
    const queue = uniqueName('restart');
    const consumerBroker = broker({ url });
    const producer = broker({ url });
    const seen = new Map<string, number>();
    await consumerBroker.consume({
      queues: [queue],
      prefetch: 10,
      onDelivery: (d) => {
        const id = d.kind === 'task' ? d.message.headers.id : 'malformed';
        seen.set(id, (seen.get(id) ?? 0) + 1);
        // Slow acks, so some deliveries are in flight when the server goes away.
        setTimeout(() => void d.ack().catch(() => {}), 30);
      },
      onError: () => {},
    });
    const published: string[] = [];
    const publishing = (async () => {
      for (let i = 0; i < 200; i++) {
        const message = createTaskMessage({ task: 'tasks.n', kwargs: { i } });
        await publishUntilAccepted(producer, queue, message);
        published.push(message.headers.id);
        await sleep(5);
      }
    })();
    const runId = async () => {
      const admin = new Redis(url);
      const info = await admin.info('server');
      admin.disconnect();
      return /run_id:(\w+)/.exec(info)?.[1];
    };
    const before = await runId();
    await waitFor(() => published.length >= 60, { what: 'some published' });
    await server.restart(700);
    expect(await runId()).not.toBe(before);
    await publishing;
    await waitFor(() => published.every((id) => seen.has(id)), {
      timeoutMs: 30_000,
      what: 'every message delivered',
    });
    expect(published).toHaveLength(200);
    const check = new Redis(url);
    await waitFor(async () => (await check.hlen('unacked')) === 0, { what: 'all acked' });
    check.disconnect();
  });

  it('fails clearly at startup on a wrong password', async () => {
    const server = await startRedis(['--requirepass', 's3cret']);
    servers.push(server);
    const wrong = broker({ url: `redis://:nope@127.0.0.1:${server.port}` });
    const error = await wrong
      .publish({ queue: 'q', message: createTaskMessage({ task: 't' }) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/authentication/);
    expect((error as ConfigError).message).not.toContain('nope');
    const consumeError = await wrong
      .consume({ queues: ['q'], prefetch: 1, onDelivery: () => {} })
      .catch((e: unknown) => e);
    expect(consumeError).toBeInstanceOf(ConfigError);
    const missing = await broker({ url: `redis://127.0.0.1:${server.port}` })
      .depth('q')
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ConfigError);

    const right = broker({ url: `redis://:s3cret@127.0.0.1:${server.port}` });
    await right.publish({ queue: 'q', message: createTaskMessage({ task: 't' }) });
    expect(await right.depth('q')).toBe(1);
  });

  it('works as an ACL user', async () => {
    const server = await startRedis();
    servers.push(server);
    const admin = new Redis(server.port, '127.0.0.1');
    await admin.call('ACL', 'SETUSER', 'worker', 'on', '>pw', '~*', '&*', '+@all');
    admin.disconnect();
    const b = broker({ url: `redis://worker:pw@127.0.0.1:${server.port}/0` });
    const queue = uniqueName('acl');
    const got: Delivery[] = [];
    await b.consume({ queues: [queue], prefetch: 1, onDelivery: (d) => got.push(d) });
    await b.publish({ queue, message: createTaskMessage({ task: 't' }) });
    const d = await waitFor(() => got[0], { what: 'delivery as ACL user' });
    await d.ack();
    const denied = await broker({ url: `redis://worker:wrong@127.0.0.1:${server.port}` })
      .depth(queue)
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(ConfigError);
  });
});

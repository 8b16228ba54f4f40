import { fileURLToPath } from 'node:url';
import { MemoryBroker, MemoryResultBackend } from '@celeriac/core';
import { createClient } from '@celeriac/core/producer';
import { createWorker } from '@celeriac/core/worker';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../examples/fastify/src/app.js';
import { tasks } from '../examples/fastify/src/tasks.js';
import { startCli } from './cli-helpers.js';

const example = (file: string) => fileURLToPath(new URL(`../examples/fastify/dist/${file}`, import.meta.url));
// A database of its own, so no other worker on the shared Redis sees the example's queue.
const redis = `${process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379'}/13`;

describe('examples/fastify', () => {
  it('in one process on the in-memory broker: POST enqueues, GET returns the typed result', async () => {
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const worker = createWorker({ broker, backend, tasks });
    await worker.start();
    const app = buildApp(createClient({ broker, backend }));
    try {
      const bad = await app.inject({
        method: 'POST',
        url: '/thumbnails',
        payload: { url: 'nope', width: 1 },
      });
      expect(bad.statusCode).toBe(400);
      const posted = await app.inject({
        method: 'POST',
        url: '/thumbnails',
        payload: { url: 'https://example.com/a.png', width: 64 },
      });
      expect(posted.statusCode).toBe(202);
      const { id } = posted.json<{ id: string }>();
      const got = await app.inject({ method: 'GET', url: `/thumbnails/${id}?wait=10000` });
      expect(got.json()).toEqual({
        id,
        state: 'SUCCESS',
        result: { url: 'https://example.com/a.png?w=64', width: 64, bytes: 64 * 64 * 3 },
      });
    } finally {
      await app.close();
      await worker.stop();
      await Promise.all([broker.close(), backend.close()]);
    }
  });

  it('the server and the worker as processes on Redis, each ending on SIGTERM', async () => {
    const env = { REDIS_URL: redis, PORT: '0' };
    const worker = startCli(example('worker.js'), [], env);
    const server = startCli(example('server.js'), [], env);
    try {
      await worker.waitFor('worker ready');
      await server.waitFor('listening on');
      const base = /listening on (http:\/\/\S+)/.exec(server.output())?.[1] as string;
      const posted = await fetch(`${base}/thumbnails`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: 'https://example.com/b.png', width: 32 }),
      });
      expect(posted.status).toBe(202);
      const { id } = (await posted.json()) as { id: string };
      const got = await fetch(`${base}/thumbnails/${id}?wait=10000`);
      expect(await got.json()).toMatchObject({ id, state: 'SUCCESS', result: { width: 32 } });
    } finally {
      server.child.kill('SIGTERM');
      worker.child.kill('SIGTERM');
    }
    expect(await server.exited()).toBe(0);
    expect(await worker.exited()).toBe(0);
  });
});

import { createResultBackend } from '@celeriac/backend-redis';
import { createBroker, createControlTransport } from '@celeriac/broker-redis';
import { createClient } from '@celeriac/core/producer';
import { createWorker, implement } from '@celeriac/core/worker';
import { sleep } from '@celeriac/demo-tasks';
import { requireService } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { describe, expect, it } from 'vitest';
import { cliPath, startCli } from './cli-helpers.js';

const redis = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const up = await requireService('redis', redis);

describe.skipIf(!up)('celeriac dashboard', () => {
  it('serves the dashboard on the broker the flags name until interrupted', async () => {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const cli = startCli(cliPath('cli'), [
      'dashboard',
      '--broker',
      redis,
      '--port',
      String(port),
      '--queue',
      'celery',
    ]);
    try {
      await cli.waitFor(`celeriac dashboard on http://127.0.0.1:${port}/`, 30_000);
      const snapshot = (await (await fetch(`http://127.0.0.1:${port}/api/snapshot`)).json()) as {
        queues: { name: string }[];
      };
      expect(snapshot.queues.map((q) => q.name)).toContain('celery');
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toContain('<div id="app">');
    } finally {
      cli.child.kill('SIGINT');
    }
    expect(await cli.exited()).toBe(0);
  });

  it('refuses to bind beyond loopback without a token', async () => {
    const cli = startCli(cliPath('cli'), [
      'dashboard',
      '--broker',
      redis,
      '--host',
      '0.0.0.0',
      '--port',
      '0',
    ]);
    expect(await cli.exited()).not.toBe(0);
    expect(cli.output()).toMatch(/--token/);
  });

  it('terminates a running task from the dashboard: the command passes the control plane', async () => {
    const queue = uniqueName('clidash');
    const aborted: unknown[] = [];
    let started = false;
    const worker = createWorker({
      broker: createBroker(redis),
      backend: createResultBackend(redis),
      control: createControlTransport(redis),
      queues: [queue],
      tasks: [
        implement(sleep, async ({ ms }, ctx) => {
          started = true;
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(resolve, ms);
            ctx.signal.addEventListener('abort', () => {
              aborted.push(ctx.signal.reason);
              clearTimeout(timer);
              reject(ctx.signal.reason);
            });
          });
          return ms;
        }),
      ],
    });
    await worker.start();
    const client = createClient({ broker: createBroker(redis), backend: createResultBackend(redis) });
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const cli = startCli(cliPath('cli'), ['dashboard', '--broker', redis, '--port', String(port)]);
    try {
      await cli.waitFor(`celeriac dashboard on http://127.0.0.1:${port}/`, 30_000);
      const handle = await client.enqueue(sleep, { ms: 60_000 }, { queue });
      await waitFor(() => started, { what: 'the task to start' });
      // The page carries the token every action needs.
      const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
      const csrf = /<meta name="csrf" content="([^"]+)"/.exec(page)?.[1] ?? '';
      const response = await fetch(`http://127.0.0.1:${port}/api/tasks/${handle.id}/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-celeriac-csrf': csrf },
        body: JSON.stringify({ terminate: true }),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ stored: true, broadcast: true });
      await waitFor(() => aborted.length > 0, { what: 'the handler to be aborted', timeoutMs: 15_000 });
      expect(aborted[0]).toMatchObject({ code: 'TASK_REVOKED', reason: 'terminated' });
      expect((await handle.status()).state).toBe('REVOKED');
    } finally {
      cli.child.kill('SIGINT');
      await worker.stop({ graceMs: 1_000 });
      await client.close();
    }
    expect(await cli.exited()).toBe(0);
  });
});

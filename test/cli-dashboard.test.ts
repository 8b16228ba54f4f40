import { requireService } from '@celeriac/test-services';
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
});

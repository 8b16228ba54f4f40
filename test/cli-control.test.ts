import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { available, brokers, redis, redisUp } from './broker-urls.js';
import { cliPath, demoTasksPath, runCli, startCli } from './cli-helpers.js';

// The same control commands on every broker (on Kafka over Celeriac's own control topic).
describe.each(brokers.map((b, i) => ({ ...b, up: available[i] && redisUp })))(
  'celeriac inspect, control and status over $name',
  ({ url, up }) => {
    it.skipIf(!up)(
      'a worker process answers status and inspect, grows its pool, and has a running task terminated',
      async () => {
        const id = randomUUID().slice(0, 8);
        const queue = `cli-ctl-${id}`;
        const node = `cli-${id}@test`;
        const env = {
          CELERIAC_BROKER_URL: url,
          CELERIAC_RESULT_BACKEND: redis,
          CELERIAC_TASKS: demoTasksPath(),
          // A namespace of the test's own: other tests' workers stay silent.
          CELERIAC_CONTROL_NAMESPACE: `ns-${id}`,
        };
        const worker = startCli(
          cliPath('worker'),
          ['--queue', queue, '--concurrency', '2', '--hostname', node],
          env,
        );
        const cli = (args: string[]) =>
          runCli(cliPath('cli'), [...args, '--destination', node, '--timeout', '5000'], env);
        try {
          await worker.waitFor('celeriac worker ready', 30_000);

          const status = await cli(['status']);
          expect(status.code).toBe(0);
          expect(status.stdout).toContain(`${node}: OK`);
          expect(status.stdout).toContain('1 node online.');

          const registered = await cli(['inspect', 'registered', '--json']);
          expect(JSON.parse(registered.stdout)).toEqual({
            [node]: ['demo.add', 'demo.echo', 'demo.fail', 'demo.sleep'],
          });

          const stats = await cli(['inspect', 'stats']);
          expect(stats.stdout).toMatch(/concurrency\s+2/);

          const grown = await cli(['control', 'pool_grow', '3']);
          expect(grown.stdout.trim()).toBe(`-> ${node}: OK pool will grow`);
          expect((await cli(['inspect', 'stats'])).stdout).toMatch(/concurrency\s+5/);

          // No thread tasks here: the worker answers as Celery's does, with nothing to restart.
          const restarted = await cli(['control', 'pool_restart']);
          expect(restarted.stdout.trim()).toBe(`-> ${node}: OK reload started`);

          const enqueued = await runCli(
            cliPath('cli'),
            ['enqueue', 'demo.sleep', '{"ms":30000}', '--queue', queue],
            env,
          );
          const taskId = enqueued.stdout.trim();
          const deadline = Date.now() + 20_000;
          let active = '';
          while (!active.includes(taskId) && Date.now() < deadline)
            active = (await cli(['inspect', 'active'])).stdout;
          expect(active).toContain('demo.sleep');

          const revoked = await cli(['control', 'revoke', taskId, '--terminate']);
          expect(revoked.stdout.trim()).toBe(`-> ${node}: OK terminate: ${taskId}`);
          const result = await runCli(
            cliPath('cli'),
            ['result', taskId, '--wait', '--timeout', '10000'],
            env,
          );
          expect(JSON.parse(result.stdout)).toMatchObject({ id: taskId, state: 'REVOKED' });

          const unknown = await cli(['inspect', 'nope']);
          expect(unknown.code).toBe(2);
          expect(unknown.stderr).toContain('unknown inspect command');
        } finally {
          worker.child.kill('SIGTERM');
          await worker.exited();
        }
      },
      120_000,
    );
  },
);

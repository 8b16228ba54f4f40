import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { available, brokers, redis, redisUp } from './broker-urls.js';
import { cliPath, demoTasksPath, runCli, startCli } from './cli-helpers.js';

// The same commands on every broker: switching is only a URL change.
describe.each(brokers.map((b, i) => ({ ...b, up: available[i] && redisUp })))(
  'CLIs over $name',
  ({ url, up }) => {
    it.skipIf(!up)(
      'a worker process runs what the celeriac CLI enqueues, and results come back',
      async () => {
        const queue = `cli-${randomUUID().slice(0, 8)}`;
        const env = {
          CELERIAC_BROKER_URL: url,
          CELERIAC_RESULT_BACKEND: redis,
          CELERIAC_TASKS: demoTasksPath(),
        };
        const port = 20_000 + Math.floor(Math.random() * 10_000);
        const worker = startCli(
          cliPath('worker'),
          ['--queue', queue, '--concurrency', '8', '--metrics-port', String(port)],
          env,
        );
        try {
          await worker.waitFor('celeriac worker ready', 30_000);
          const producer = (args: string[]) => runCli(cliPath('cli'), [...args, '--queue', queue], env);

          const sum = await producer([
            'enqueue',
            'demo.add',
            '{"x":2,"y":3}',
            '--wait',
            '--timeout',
            '30000',
          ]);
          expect(sum.stdout.trim()).toBe('5');
          expect(sum.code).toBe(0);

          const failed = await producer([
            'enqueue',
            'demo.fail',
            '{"message":"expected failure"}',
            '--wait',
            '--timeout',
            '30000',
          ]);
          expect(failed.code).toBe(1);
          expect(failed.stderr).toContain('FAILURE: NonRetriableError: expected failure');

          const many = await producer([
            'enqueue',
            'demo.echo',
            '{"value":"hi"}',
            '--count',
            '20',
            '--batch',
            '7',
          ]);
          const ids = many.stdout.trim().split('\n');
          expect(ids).toHaveLength(20);
          const last = await runCli(
            cliPath('cli'),
            ['result', ids[19] as string, '--wait', '--timeout', '30000'],
            env,
          );
          expect(JSON.parse(last.stdout)).toMatchObject({ id: ids[19], state: 'SUCCESS', result: 'hi' });
          const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          expect(metrics).toContain('celeriac_tasks_total{task="demo.add",state="SUCCESS"} 1');
          expect(metrics).toContain('celeriac_tasks_total{task="demo.fail",state="FAILURE"} 1');
        } finally {
          worker.child.kill('SIGTERM');
          expect(await worker.exited()).toBe(0);
        }
      },
      120_000,
    );
  },
);

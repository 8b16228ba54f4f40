import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { available, brokers, redis, redisUp } from './broker-urls.js';
import { cliPath, demoTasksPath, runCli, startCli } from './cli-helpers.js';

describe.each(brokers.map((b, i) => ({ ...b, up: available[i] && redisUp })))(
  'celeriac events over $name',
  ({ url, up }) => {
    it.skipIf(!up)('tails the heartbeats and task events of a worker started with --events', async () => {
      const queue = `events-${randomUUID().slice(0, 8)}`;
      const hostname = `events-${randomUUID().slice(0, 8)}@e2e`;
      const env = {
        CELERIAC_BROKER_URL: url,
        CELERIAC_RESULT_BACKEND: redis,
        CELERIAC_TASKS: demoTasksPath(),
      };
      const tail = startCli(cliPath('cli'), ['events', '--json'], env);
      const worker = startCli(cliPath('worker'), ['--queue', queue, '--events', '--hostname', hostname], env);
      try {
        await tail.waitFor('listening for Celery events', 30_000);
        await worker.waitFor('celeriac worker ready', 30_000);
        const sum = await runCli(
          cliPath('cli'),
          ['enqueue', 'demo.add', '{"x":2,"y":3}', '--queue', queue, '--wait'],
          env,
        );
        expect(sum.stdout.trim()).toBe('5');
        await tail.waitFor('"type":"task-succeeded"', 30_000);
        // Other workers may share the broker: wait for a heartbeat of this test's own worker.
        await tail.waitFor(
          (out) =>
            out.split('\n').some((l) => l.includes('"type":"worker-heartbeat"') && l.includes(hostname)),
          30_000,
        );
        const mine = tail
          .output()
          .split('\n')
          .filter((line) => line.startsWith('{') && line.includes(hostname))
          .map(
            (line) => JSON.parse(line) as { type: string; name?: string; queue?: string; result?: string },
          );
        const task = mine.filter((e) => e.type.startsWith('task-'));
        expect(task.map((e) => e.type)).toEqual(['task-received', 'task-started', 'task-succeeded']);
        expect(task[0]).toMatchObject({ name: 'demo.add', queue });
        expect(task[2]).toMatchObject({ result: '5' });
        expect(mine.some((e) => e.type === 'worker-heartbeat')).toBe(true);
      } finally {
        worker.child.kill('SIGTERM');
        tail.child.kill('SIGINT');
        await worker.exited();
        expect(await tail.exited()).toBe(0);
      }
    });
  },
);

describe('celeriac events', () => {
  it('refuses memory://, which has no event stream', async () => {
    const memory = await runCli(cliPath('cli'), ['events', '--broker', 'memory://x']);
    expect(memory.code).not.toBe(0);
    expect(memory.stderr).toMatch(/memory:\/\/ has no Celery events/);
  });
});

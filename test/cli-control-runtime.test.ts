import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { available, brokers, redis, redisUp } from './broker-urls.js';
import { cliPath, demoTasksPath, runCli, startCli } from './cli-helpers.js';

/** A worker process of the test's own (queue, node name, control namespace). */
function startWorker(url: string) {
  const id = randomUUID().slice(0, 8);
  const queue = `cli-rt-${id}`;
  const node = `cli-rt-${id}@test`;
  const env = {
    CELERIAC_BROKER_URL: url,
    CELERIAC_RESULT_BACKEND: redis,
    CELERIAC_TASKS: demoTasksPath(),
    CELERIAC_CONTROL_NAMESPACE: `ns-${id}`,
  };
  const worker = startCli(cliPath('worker'), ['--queue', queue, '--hostname', node], env);
  const cli = (args: string[]) =>
    runCli(cliPath('cli'), [...args, '--destination', node, '--timeout', '5000'], env);
  const stop = async () => {
    worker.child.kill('SIGTERM');
    await worker.exited();
  };
  return { id, queue, node, env, worker, cli, stop };
}

describe.each(brokers.map((b, i) => ({ ...b, up: available[i] && redisUp })))(
  'the worker CLI steered at runtime over $name',
  ({ url, up }) => {
    it.skipIf(!up)(
      'enable_events and disable_events switch task events of a worker started without --events; heartbeat answers',
      async () => {
        const { node, worker, cli, stop } = startWorker(url);
        try {
          await worker.waitFor('celeriac worker ready', 30_000);
          const line = async (args: string[]) => (await cli(['control', ...args])).stdout.trim();
          expect(await line(['enable_events'])).toBe(`-> ${node}: OK task events enabled`);
          expect(await line(['enable_events'])).toBe(`-> ${node}: OK task events already enabled`);
          expect(await line(['disable_events'])).toBe(`-> ${node}: OK task events disabled`);
          const beat = await cli(['control', 'heartbeat', '--json']);
          expect(JSON.parse(beat.stdout)).toEqual({ [node]: null });
        } finally {
          await stop();
        }
      },
      120_000,
    );

    it.skipIf(!up)(
      'add_consumer makes a worker process run tasks of another queue; cancel_consumer stops it',
      async () => {
        const { id, queue, node, env, worker, cli, stop } = startWorker(url);
        const other = `cli-rt-other-${id}`;
        try {
          await worker.waitFor('celeriac worker ready', 30_000);
          const enqueued = await runCli(
            cliPath('cli'),
            ['enqueue', 'demo.add', '{"x":40,"y":2}', '--queue', other],
            env,
          );
          const taskId = enqueued.stdout.trim();
          expect((await cli(['control', 'add_consumer', other])).stdout.trim()).toBe(
            `-> ${node}: OK add consumer ${other}`,
          );
          const result = await runCli(
            cliPath('cli'),
            ['result', taskId, '--wait', '--timeout', '20000'],
            env,
          );
          expect(JSON.parse(result.stdout)).toMatchObject({ id: taskId, state: 'SUCCESS', result: 42 });
          const queues = (names: string) =>
            (JSON.parse(names) as Record<string, { name: string }[]>)[node]?.map((q) => q.name);
          expect(queues((await cli(['inspect', 'active_queues', '--json'])).stdout)).toEqual([queue, other]);
          expect((await cli(['control', 'cancel_consumer', other])).stdout.trim()).toBe(
            `-> ${node}: OK no longer consuming from ${other}`,
          );
          expect(queues((await cli(['inspect', 'active_queues', '--json'])).stdout)).toEqual([queue]);
        } finally {
          await stop();
        }
      },
      120_000,
    );
  },
);

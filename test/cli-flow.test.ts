import { randomUUID } from 'node:crypto';
import { RedisResultBackend } from '@celeriac/backend-redis';
import { requireService } from '@celeriac/test-services';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath, runCli } from './cli-helpers.js';

const redis = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const up = await requireService('redis', redis);

describe.skipIf(!up)('celeriac queue and tasks (flow control from the CLI)', () => {
  const env = { CELERIAC_BROKER_URL: redis, CELERIAC_RESULT_BACKEND: redis };
  const backend = new RedisResultBackend({ url: redis, taskIndex: { max: 10_000 } });
  afterAll(() => backend.close());

  it('queue pause and resume change what every worker sees; queue paused lists them', async () => {
    const queue = `cli-pause-${randomUUID().slice(0, 8)}`;
    const paused = await runCli(cliPath('cli'), ['queue', 'pause', queue], env);
    expect(paused).toMatchObject({ code: 0 });
    expect(paused.stdout).toContain(`paused ${queue} on every worker`);
    expect(await backend.flow.pausedQueues()).toContain(queue);
    expect((await runCli(cliPath('cli'), ['queue', 'paused'], env)).stdout.split('\n')).toContain(queue);
    expect((await runCli(cliPath('cli'), ['queue', 'resume', queue], env)).code).toBe(0);
    expect(await backend.flow.pausedQueues()).not.toContain(queue);
  });

  it('tasks list --state FAILURE prints the failed tasks of the index, newest first', async () => {
    const queue = `cli-tasks-${randomUUID().slice(0, 8)}`;
    const at = Date.now();
    const entry = (i: number, state: string) => ({
      id: `${queue}-${i}`,
      name: 'cli.task',
      queue,
      state,
      at: at + i,
      worker: 'w@test',
    });
    await backend.taskIndex.indexTasks([entry(0, 'FAILURE'), entry(1, 'SUCCESS'), entry(2, 'FAILURE')]);
    const out = await runCli(cliPath('cli'), ['tasks', 'list', '--state', 'FAILURE', '--queue', queue], env);
    expect(out.code).toBe(0);
    expect(
      out.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('\t').slice(0, 3)),
    ).toEqual([
      [`${queue}-2`, 'FAILURE', 'cli.task'],
      [`${queue}-0`, 'FAILURE', 'cli.task'],
    ]);
    const json = await runCli(
      cliPath('cli'),
      ['tasks', 'list', '--queue', queue, '--limit', '1', '--json'],
      env,
    );
    expect(JSON.parse(json.stdout)).toMatchObject({ id: `${queue}-2`, state: 'FAILURE', worker: 'w@test' });
  });
});

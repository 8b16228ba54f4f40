import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBroker, RedisBroker } from '@celeriac/broker-redis';
import { defineTask } from '@celeriac/core';
import { createClient } from '@celeriac/core/producer';
import { createWorker, implement } from '@celeriac/core/worker';
import { requireService } from '@celeriac/test-services';
import { sleep, uniqueName, waitFor } from '@celeriac/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCli, startCli } from './cli-helpers.js';

const redisUrl = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const up = await requireService('redis', redisUrl);
const fixture = fileURLToPath(new URL('./fixtures/busy-loop-worker.mjs', import.meta.url));
const trusted = {
  '~standard': { version: 1 as const, vendor: 'busy', validate: (value: unknown) => ({ value }) },
};

/** Runs of each task id, from the worker's log. */
function runs(log: string, id: string): number {
  let text = '';
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    return 0;
  }
  return text.split('\n').filter((line) => line.startsWith(`run ${id} `)).length;
}

describe.runIf(up)('a Redis consumer whose event loop is blocked', () => {
  // A live consumer on the same Redis that sweeps every 200 ms for dead ones, as a fleet's would.
  const sweeper = new RedisBroker({
    url: redisUrl,
    heartbeatIntervalMs: 200,
    consumerTimeoutMs: 1000,
    sweepIntervalMs: 200,
  });
  const idle = defineTask({ name: 'busy.idle', input: trusted, output: trusted });
  const sweeping = createWorker({
    broker: sweeper,
    queues: [uniqueName('busy-sweeper')],
    tasks: [implement(idle, () => null)],
  });
  const producer = createBroker(redisUrl);
  const client = createClient({ broker: producer });
  const dir = mkdtempSync(join(tmpdir(), 'busy-loop-'));
  const children: RunningCli[] = [];

  beforeAll(async () => {
    await sweeping.start();
  });

  afterAll(async () => {
    for (const c of children) c.child.kill('SIGKILL');
    await sweeping.stop({ graceMs: 1000 });
    await Promise.allSettled([sweeper.close(), client.close()]);
  });

  const start = async (name: string, env: Record<string, string>) => {
    const queue = uniqueName(`busy-${name}`);
    const log = join(dir, `${name}.log`);
    const child = startCli(fixture, [], {
      BUSY_BROKER_URL: redisUrl,
      BUSY_QUEUE: queue,
      BUSY_LOG: log,
      ...env,
    });
    children.push(child);
    await child.waitFor('ready');
    const task = defineTask({ name: 'busy.block', input: trusted, output: trusted, defaults: { queue } });
    return { child, log, task };
  };

  it('keeps its work past consumerTimeoutMs: the heartbeat thread renews it, so the task runs once', async () => {
    // Blocks 4 s, four times the consumer timeout, with the stall limit far away.
    const { child, log, task } = await start('renewed', { BUSY_BLOCK_MS: '4000', BUSY_STALL_MS: '60000' });
    const { id } = await client.enqueue(task, {});
    await waitFor(() => runs(log, id) === 1, { timeoutMs: 20_000, what: 'first run' });
    // Wait until the handler is done and the loop answers again (it then takes a second message).
    const second = await client.enqueue(task, {});
    await waitFor(() => runs(log, second.id) === 1, { timeoutMs: 30_000, what: 'the next task' });
    // Sweeps kept running meanwhile; give them a few more rounds before counting.
    await sleep(1000);
    expect(runs(log, id)).toBe(1);
    child.child.kill('SIGKILL');
  });

  it('is recovered once its event loop stays silent past loopStallLimitMs', async () => {
    // Stall limit 1 s, blocked 6 s: the thread stops renewing, the consumer lapses, the task comes back.
    const { child, log, task } = await start('stuck', { BUSY_BLOCK_MS: '6000', BUSY_STALL_MS: '1000' });
    const { id } = await client.enqueue(task, {});
    await waitFor(() => runs(log, id) === 2, { timeoutMs: 40_000, what: 'the task delivered again' });
    child.child.kill('SIGKILL');
  });
});

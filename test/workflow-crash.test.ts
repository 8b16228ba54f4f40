import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createResultBackend } from '@celeriac/backend-redis';
import { RedisBroker } from '@celeriac/broker-redis';
import { defineTask } from '@celeriac/core';
import { createClient, workflow } from '@celeriac/core/producer';
import { requireService } from '@celeriac/test-services';
import { waitFor } from '@celeriac/testkit';
import { describe, expect, it } from 'vitest';
import { startCli } from './cli-helpers.js';

const redis = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const up = await requireService('redis', redis);
const program = fileURLToPath(new URL('./fixtures/workflow-worker.mjs', import.meta.url));

type NodeInput = { name: string; upstream?: string | string[] };
const trusted = <T>() => ({
  '~standard': {
    version: 1 as const,
    vendor: 'test',
    validate: (value: unknown) => ({ value: value as T }),
    types: undefined as unknown as { input: T; output: T },
  },
});

describe.skipIf(!up)('a workflow whose worker is killed -9 mid-graph', () => {
  it('finishes on another worker, every node completed once', async () => {
    const queue = `wf-crash-${randomUUID().slice(0, 8)}`;
    const log = join(tmpdir(), `${queue}.log`);
    writeFileSync(log, '');
    const node = defineTask({
      name: 'dag.node',
      input: trusted<NodeInput>(),
      output: trusted<string>(),
      defaults: { queue },
    });
    const n = (name: string) => ({ task: node, input: { name } });
    const wf = workflow({
      start: n('start'),
      a1: { task: node, after: ['start'], input: ({ start }) => ({ name: 'a1', upstream: start }) },
      a2: { task: node, after: ['start'], input: ({ start }) => ({ name: 'a2', upstream: start }) },
      a3: { task: node, after: ['start'], input: ({ start }) => ({ name: 'a3', upstream: start }) },
      a4: { task: node, after: ['start'], input: ({ start }) => ({ name: 'a4', upstream: start }) },
      join: {
        task: node,
        after: ['a1', 'a2', 'a3', 'a4'],
        input: ({ a1, a2, a3, a4 }) => ({ name: 'join', upstream: [a1, a2, a3, a4] }),
      },
      end: { task: node, after: ['join'], input: ({ join }) => ({ name: 'end', upstream: join }) },
    });
    const env = { WF_REDIS: redis, WF_QUEUE: queue, WF_LOG: log };
    const lines = () => readFileSync(log, 'utf8').split('\n').filter(Boolean);
    const broker = new RedisBroker({ url: redis });
    const backend = createResultBackend(redis);
    const first = startCli(program, [], { ...env, WF_HOLD: 'a2' });
    let second: ReturnType<typeof startCli> | undefined;
    try {
      await first.waitFor('workflow worker ready', 30_000);
      const run = await wf.start(createClient({ broker, backend }), { store: backend, driverQueue: queue });
      // Killed while a2 runs there and the driver moves on from its siblings. The siblings' SUCCESS
      // is awaited first: a handler that returned but whose outcome was not stored yet runs again
      // after a crash (at-least-once, by design), and this test counts handler completions.
      await waitFor(() => lines().includes(`S a2 ${first.child.pid}`), {
        timeoutMs: 30_000,
        what: 'a2 to start',
      });
      await waitFor(
        async () =>
          (await Promise.all([run.nodes.a1, run.nodes.a3, run.nodes.a4].map((h) => h.status()))).every(
            (s) => s.state === 'SUCCESS',
          ),
        { timeoutMs: 30_000, what: "a2's siblings to succeed" },
      );
      first.child.kill('SIGKILL');
      await first.exited();
      second = startCli(program, [], env);
      await second.waitFor('workflow worker ready', 30_000);
      const results = await run.result({ timeoutMs: 60_000 });
      expect(results.end).toBe('end(join(a1(start()),a2(start()),a3(start()),a4(start())))');
      expect((await run.status()).state).toBe('SUCCESS');
      const completed = lines().filter((l) => l.startsWith('C '));
      const perNode = new Map<string, number>();
      for (const l of completed)
        perNode.set(l.split(' ')[1] as string, (perNode.get(l.split(' ')[1] as string) ?? 0) + 1);
      expect(Object.fromEntries(perNode)).toEqual({ start: 1, a1: 1, a2: 1, a3: 1, a4: 1, join: 1, end: 1 });
      // a2 started in the killed worker and completed in the second one.
      expect(lines().filter((l) => l.startsWith('S a2 '))).toHaveLength(2);
    } finally {
      first.child.kill('SIGKILL');
      second?.child.kill('SIGKILL');
      await Promise.allSettled([broker.close(), backend.close()]);
      rmSync(log, { force: true });
    }
  }, 120_000);
});

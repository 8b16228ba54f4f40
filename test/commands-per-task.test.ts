import { createClient } from '@celeriac/core/producer';
import { createWorker } from '@celeriac/core/worker';
import { add } from '@celeriac/demo-tasks';
import { demoTasks } from '@celeriac/demo-tasks/tasks';
import {
  redisCli as cli,
  commandCounts,
  freePort,
  type OwnRedisServer,
  startRedisServer,
} from '@celeriac/test-services';
import { sleep, uniqueName } from '@celeriac/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const TASKS = 300;

/** Script calls (EVALSHA, EVAL, FCALL and their read-only forms) in a command count. */
function scriptCalls(counts: Record<string, number>): number {
  let n = 0;
  for (const [name, calls] of Object.entries(counts)) {
    if (/^(evalsha|eval|fcall)(_ro)?$/.test(name)) n += calls;
  }
  return n;
}

/** Commands the clients sent (not the ones scripts ran inside), from both servers. */
function clientCommands(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

interface Drain {
  /** Calls per task for each command name, summed over the servers used. */
  readonly perTask: Record<string, number>;
  readonly scriptsPerTask: number;
}

/**
 * Drains TASKS tasks through one worker (concurrency 1 unless told), broker on `brokerPort` and result backend
 * on `backendPort`; what the servers ran, per task.
 */
async function drain(brokerPort: number, backendPort: number, concurrency = 1): Promise<Drain> {
  const { createBroker } = await import('@celeriac/broker-redis');
  const { createResultBackend } = await import('@celeriac/backend-redis');
  const queue = uniqueName('cpt');
  const broker = createBroker(`redis://127.0.0.1:${brokerPort}`);
  const backend = createResultBackend(`redis://127.0.0.1:${backendPort}`);
  const producer = createClient({ broker, backend });
  const worker = createWorker({ broker, backend, tasks: demoTasks, queues: [queue], concurrency });
  const handles = await producer.enqueueMany(
    add,
    Array.from({ length: TASKS }, (_, i) => ({ x: i, y: 1 })),
    { queue },
  );
  // The callers wait first (their SUBSCRIBE and reads happen now), so only the drain is counted.
  const results = Promise.all(handles.map((h) => h.result({ timeoutMs: 60_000 })));
  await sleep(300);
  const ports = [...new Set([brokerPort, backendPort])];
  await Promise.all(ports.map((p) => cli(p, 'CONFIG', 'RESETSTAT')));
  await worker.start();
  const values = await results;
  const counted = await Promise.all(ports.map((p) => commandCounts(p)));
  await worker.stop({ graceMs: 1000 });
  await Promise.allSettled([broker.close(), backend.close()]);
  // Every task ran and its result reached its caller.
  expect(values).toEqual(Array.from({ length: TASKS }, (_, i) => i + 1));
  const perTask: Record<string, number> = {};
  for (const counts of counted) {
    for (const [k, v] of Object.entries(counts)) perTask[k] = (perTask[k] ?? 0) + v / TASKS;
  }
  return { perTask, scriptsPerTask: scriptCalls(perTask) };
}

function describeDrain(d: Drain): string {
  const rounded = Object.fromEntries(Object.entries(d.perTask).map(([k, v]) => [k, Number(v.toFixed(3))]));
  return `scripts/task=${d.scriptsPerTask.toFixed(3)} all/task=${clientCommands(d.perTask).toFixed(3)} ${JSON.stringify(rounded)}`;
}

describe('Redis round trips per task in a drain at concurrency 1', () => {
  const servers: OwnRedisServer[] = [];
  let first = 0;
  let second = 0;

  beforeAll(async () => {
    first = await freePort();
    servers.push(await startRedisServer(first, ['--port', String(first)]));
    second = await freePort();
    servers.push(await startRedisServer(second, ['--port', String(second)]));
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
  });

  it('is at most 1.5 script calls when broker and backend share one Redis server', async () => {
    const d = await drain(first, first);
    console.log(`[measure] co-located: ${describeDrain(d)}`);
    expect(d.scriptsPerTask).toBeLessThanOrEqual(1.5);
  }, 120_000);

  it('is at most 2.5 script calls when broker and backend are two Redis servers', async () => {
    const d = await drain(first, second);
    console.log(`[measure] separate servers: ${describeDrain(d)}`);
    expect(d.scriptsPerTask).toBeLessThanOrEqual(2.5);
  }, 120_000);

  it('batches the carried stores at concurrency 100: well under one script call per task', async () => {
    const d = await drain(first, first, 100);
    console.log(`[measure] co-located, concurrency 100: ${describeDrain(d)}`);
    expect(d.scriptsPerTask).toBeLessThan(1);
  }, 120_000);
});

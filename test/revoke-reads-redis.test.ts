import type { ResultBackend } from '@celeriac/core';
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

const TASKS = 400;

/** The same backend without its revoke store: workers then read each task's state before running it. */
function withoutRevokeStore(backend: ResultBackend): ResultBackend {
  return {
    name: backend.name,
    capabilities: backend.capabilities,
    store: (meta, o) => backend.store(meta, o),
    get: (id) => backend.get(id),
    getMany: (ids) => backend.getMany(ids),
    wait: (id, o) => backend.wait(id, o),
    forget: (id) => backend.forget(id),
    close: () => backend.close(),
  };
}

/** Drains TASKS tasks through one worker on a Redis of its own; the commands Redis ran, per task. */
async function drain(port: number, revokeStore: boolean): Promise<Record<string, number>> {
  const { createBroker } = await import('@celeriac/broker-redis');
  const { createResultBackend } = await import('@celeriac/backend-redis');
  const url = `redis://127.0.0.1:${port}`;
  const queue = uniqueName('reads');
  const broker = createBroker(url);
  const backend = createResultBackend(url);
  const producer = createClient({ broker, backend });
  const worker = createWorker({
    broker,
    backend: revokeStore ? backend : withoutRevokeStore(backend),
    tasks: demoTasks,
    queues: [queue],
    concurrency: 8,
  });
  const handles = await producer.enqueueMany(
    add,
    Array.from({ length: TASKS }, (_, i) => ({ x: i, y: 1 })),
    { queue },
  );
  // The callers wait first (their SUBSCRIBE and MGET happen now), so only the drain is counted.
  const results = Promise.all(handles.map((h) => h.result({ timeoutMs: 30_000 })));
  await sleep(300);
  await cli(port, 'CONFIG', 'RESETSTAT');
  await worker.start();
  await results;
  const counts = await commandCounts(port);
  await worker.stop({ graceMs: 1000 });
  await Promise.allSettled([broker.close(), backend.close()]);
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / TASKS]));
}

describe('the read of a task state before it runs', () => {
  let server: OwnRedisServer | undefined;
  let port = 0;

  beforeAll(async () => {
    port = await freePort();
    server = await startRedisServer(port, ['--port', String(port)]);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('is gone for first deliveries when the backend keeps the revoked set', async () => {
    const reading = await drain(port, false);
    const knowing = await drain(port, true);
    // For the report: Redis commands per task in each drain.
    console.log(`[measure] commands per task, reading: ${JSON.stringify(reading)}`);
    console.log(`[measure] commands per task, revoke store: ${JSON.stringify(knowing)}`);
    // Without the revoke store the worker batches the state reads into MGETs (several ids each).
    expect(reading.mget ?? 0).toBeGreaterThan(0);
    expect(knowing.mget ?? 0).toBe(0);
  }, 120_000);
});

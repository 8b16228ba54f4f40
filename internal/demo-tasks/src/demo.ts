#!/usr/bin/env node
import { backendFromUrl, brokerFromUrl, defaultBackendUrl } from '@celeriac/cli/adapters';
import { RemoteTaskError, ResultTimeoutError } from '@celeriac/core';
import { createClient, type TaskHandle } from '@celeriac/core/producer';
import { createWorker } from '@celeriac/core/worker';
import { Command } from 'commander';
import { add, echo, fail, sleep } from './index.js';
import { demoTasks } from './tasks.js';

const program = new Command('celeriac-demo')
  .description('Start a worker, enqueue a few hundred typed tasks, wait for their results and summarise.')
  .option('--broker <url>', 'broker URL', process.env.CELERIAC_BROKER_URL ?? 'memory://demo')
  .option('--backend <url>', 'result backend URL', process.env.CELERIAC_RESULT_BACKEND)
  .option('--count <n>', 'how many demo.add tasks', (v) => Number(v), 300)
  .option('--concurrency <n>', 'worker concurrency', (v) => Number(v), 32);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function main(): Promise<void> {
  const o = program.parse().opts<{ broker: string; backend?: string; count: number; concurrency: number }>();
  const backendUrl = o.backend ?? defaultBackendUrl(o.broker);
  const [broker, backend] = await Promise.all([brokerFromUrl(o.broker), backendFromUrl(backendUrl)]);
  const queue = `celeriac-demo-${process.pid}`;
  const worker = createWorker({
    broker,
    backend,
    tasks: demoTasks,
    queues: [queue],
    concurrency: o.concurrency,
  });
  await worker.start();
  const client = createClient({ broker, backend, defaultQueue: queue });
  console.log(
    `celeriac demo: broker ${o.broker}, backend ${backendUrl}, worker concurrency ${o.concurrency}`,
  );

  const latencies: number[] = [];
  const states = new Map<string, number>();
  const track = async <T>(
    label: string,
    enqueuedAt: number,
    handle: TaskHandle<T>,
    expect: (v: T) => boolean,
  ) => {
    try {
      const value = await handle.result({ timeoutMs: 30_000 });
      latencies.push(performance.now() - enqueuedAt);
      states.set('SUCCESS', (states.get('SUCCESS') ?? 0) + 1);
      if (!expect(value)) console.error(`  unexpected result for ${label}: ${JSON.stringify(value)}`);
    } catch (error) {
      const state =
        error instanceof RemoteTaskError
          ? error.remote.state
          : error instanceof ResultTimeoutError
            ? 'TIMEOUT'
            : 'ERROR';
      states.set(state, (states.get(state) ?? 0) + 1);
      if (error instanceof RemoteTaskError)
        console.log(`  ${label}: ${state} ${error.remote.excType}: ${error.remote.excMessage}`);
      else console.error(`  ${label}: ${String(error)}`);
    }
  };

  const started = performance.now();
  const pending: Promise<void>[] = [];
  // A few hundred typed additions, enqueued one by one as an application would.
  for (let i = 0; i < o.count; i++) {
    const at = performance.now();
    const handle = await client.enqueue(add, { x: i, y: 1 });
    pending.push(track(`add ${i}`, at, handle, (v) => v === i + 1));
  }
  const echoAt = performance.now();
  const echoes = await client.enqueueMany(
    echo,
    Array.from({ length: 20 }, (_, i) => ({ value: { i, when: 'now' } })),
  );
  for (const h of echoes) pending.push(track('echo', echoAt, h, (v) => typeof v === 'object'));
  const retriedAt = performance.now();
  pending.push(
    track(
      'demo.fail (retriable, retried then failed)',
      retriedAt,
      await client.enqueue(fail, { message: 'flaky upstream', retriable: true }),
      () => false,
    ),
  );
  const timeoutAt = performance.now();
  pending.push(
    track(
      'demo.sleep 5 s with a 200 ms limit',
      timeoutAt,
      await client.enqueue(sleep, { ms: 5_000 }, { timeoutMs: 200 }),
      () => false,
    ),
  );
  const delayedAt = performance.now();
  // A priority only where the broker declares one (Kafka does not: asking would be refused).
  const priority = broker.capabilities.priority ? { priority: 5 } : {};
  const delayed = await client.enqueue(add, { x: 40, y: 2 }, { delayMs: 500, ...priority });
  pending.push(
    track('delayed add (500 ms)', delayedAt, delayed, (v) => {
      console.log(`  delayed add (500 ms): ${v} after ${Math.round(performance.now() - delayedAt)} ms`);
      return v === 42;
    }),
  );
  await Promise.all(pending);
  const elapsed = performance.now() - started;
  await worker.stop({ graceMs: 1_000 });
  await client.close();

  const sorted = latencies.sort((a, b) => a - b);
  const total = [...states.values()].reduce((a, b) => a + b, 0);
  console.log('\nsummary');
  console.log(
    `  tasks: ${total} in ${Math.round(elapsed)} ms (${Math.round((total / elapsed) * 1000)} tasks/s)`,
  );
  console.log(`  by state: ${[...states].map(([s, n]) => `${s}=${n}`).join(' ')}`);
  console.log(
    `  latency enqueue→result (successes): p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms`,
  );
  const stats = worker.stats();
  console.log(
    `  worker: processed ${stats.processed}, succeeded ${stats.succeeded}, failed ${stats.failed}, retried ${stats.retried}`,
  );
  const expectedSuccess = o.count + 20 + 1;
  if (states.get('SUCCESS') !== expectedSuccess || states.get('FAILURE') !== 2) {
    console.error(`demo: expected ${expectedSuccess} successes and 2 failures`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 2;
});

import { mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@celeriac/core/producer';
import { noop, openBackend, openBroker } from '../celeriac.js';
import { redisWorkerSpec } from '../child/protocol.js';
import { runWorkerGroup } from '../child/spawn-workers.js';
import { uniqueName } from '../config.js';
import { prefillCeleriac, type ResultMode } from '../prefill.js';
import { deleteKeys, deleteMatching, resultKeys } from '../redis-tools.js';
import { markdownTable } from '../report/markdown.js';
import type { ScenarioContext } from '../scenario-kit.js';
import { type ProfileSummary, summarizeProfile } from './cpu-profile.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** The worker a profile runs: its concurrency, and whether tasks keep their results. */
interface WorkerShape {
  readonly concurrency: number;
  readonly results: ResultMode;
}

const C100_KEPT: WorkerShape = { concurrency: 100, results: 'kept' };

async function profileWorker(
  ctx: ScenarioContext,
  dir: string,
  count: number,
  brokerUrl: string,
  backendUrl: string | null,
  shape: WorkerShape = C100_KEPT,
): Promise<ProfileSummary> {
  const { config } = ctx;
  const { concurrency, results } = shape;
  const queue = uniqueName(
    config,
    'profile',
    'worker',
    backendUrl ? 'results' : 'bare',
    `c${concurrency}`,
    results,
  );
  const sent = await prefillCeleriac(brokerUrl, queue, count, 0, results);
  const ids = results === 'kept' ? sent : [];
  try {
    const r = await runWorkerGroup({
      spec: { system: 'celeriac', brokerUrl, backendUrl, queue, concurrency },
      processes: 1,
      expected: count,
      timeoutMs: 120_000 + count * 5,
      // One task at a time leaves the process mostly idle: sample 5× as often to see the rest.
      execArgv: [
        '--cpu-prof',
        `--cpu-prof-dir=${dir}`,
        ...(concurrency === 1 ? ['--cpu-prof-interval=200'] : []),
      ],
    });
    if (r.count < count) throw new Error(`only ${r.count} of ${count} tasks completed`);
  } finally {
    await deleteKeys(ctx.redis, resultKeys(ids));
    await deleteMatching(ctx.redis, `*${queue}*`);
  }
  // `CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`: the main thread's (0), not a worker thread's.
  const written = (await readdir(dir)).filter((f) => f.startsWith('CPU.') && f.endsWith('.cpuprofile'));
  const file = written.find((f) => f.split('.')[4] === '0');
  if (!file) throw new Error('the worker process wrote no CPU profile of its main thread');
  // Renamed so the next worker profile in the same folder is told apart; the threads' go.
  const kept = join(dir, `worker-${queue}.cpuprofile`);
  await rename(join(dir, file), kept);
  await Promise.all(written.filter((f) => f !== file).map((f) => rm(join(dir, f), { force: true })));
  return summarizeProfile(kept, REPO_ROOT);
}

async function profileProducer(
  ctx: ScenarioContext,
  dir: string,
  label: string,
  run: (enqueue: ReturnType<typeof createClient>) => Promise<void>,
): Promise<ProfileSummary> {
  const queue = uniqueName(ctx.config, 'profile', label);
  const broker = await openBroker(ctx.config.redisUrl);
  const client = createClient({ broker, defaultQueue: queue });
  const session = new Session();
  session.connect();
  try {
    await client.enqueueMany(
      noop,
      Array.from({ length: 2000 }, (_, i) => ({ i })),
    );
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    await run(client);
    const { profile } = await session.post('Profiler.stop');
    const file = join(dir, `${label}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));
    return await summarizeProfile(file, REPO_ROOT);
  } finally {
    session.disconnect();
    await client.close();
    await deleteMatching(ctx.redis, `*${queue}*`);
  }
}

async function profileResultWaits(ctx: ScenarioContext, dir: string, count: number): Promise<ProfileSummary> {
  const { config } = ctx;
  const queue = uniqueName(config, 'profile', 'waits');
  const broker = await openBroker(config.redisUrl);
  const backend = await openBackend(config.backendUrl);
  const client = createClient({ broker, backend, defaultQueue: queue });
  const session = new Session();
  session.connect();
  const ids: string[] = [];
  let producing: Promise<void> = Promise.resolve();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    // A closed loop with 200 tasks in flight: each one enqueued, then its result awaited.
    const loop = async () => {
      await session.post('Profiler.start');
      let next = 0;
      const lane = async () => {
        while (next < count) {
          const i = next++;
          const h = await client.enqueue(noop, { i });
          ids.push(h.id);
          await h.result({ timeoutMs: 30_000 });
        }
      };
      await Promise.all(Array.from({ length: 200 }, lane));
    };
    await runWorkerGroup({
      spec: redisWorkerSpec(config, 'Celeriac', queue, 100),
      processes: 1,
      expected: count,
      timeoutMs: 120_000 + count * 5,
      recordTimes: false,
      onStarted: () => {
        producing = loop();
      },
    });
    await producing;
    const { profile } = await session.post('Profiler.stop');
    const file = join(dir, 'waits.cpuprofile');
    await writeFile(file, JSON.stringify(profile));
    return await summarizeProfile(file, REPO_ROOT);
  } finally {
    session.disconnect();
    await client.close();
    await deleteKeys(ctx.redis, resultKeys(ids));
    await deleteMatching(ctx.redis, `*${queue}*`);
  }
}

function render(title: string, what: string, s: ProfileSummary): string {
  const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '');
  const categories = markdownTable({
    columns: ['where the CPU went (self time)', 'ms', 'share of busy time'],
    rows: s.categories.slice(0, 10).map((c) => [c.name, Math.round(c.ms), pct(c.share)]),
  });
  const ours = markdownTable({
    columns: ['our function', 'source', 'self ms', 'share of busy time'],
    rows: s.ours
      .slice(0, 12)
      .map((h) => [`\`${h.name}\``, `\`${h.where}\``, Math.round(h.selfMs), pct(h.share)]),
  });
  return [`### ${title}`, '', what, '', categories, '', ours].join('\n');
}

/**
 * Profiles our hot paths in this run (`--cpu-prof` in a worker process, the inspector in this
 * process for the producer) and renders where the time goes, down to our source lines.
 */
export async function profileHotPaths(ctx: ScenarioContext): Promise<string> {
  const quick = ctx.config.mode === 'quick';
  const workerCount = quick ? 3_000 : 30_000;
  const bulkCount = quick ? 5_000 : 50_000;
  const singleCount = quick ? 500 : 5_000;
  const dir = await mkdtemp(join(tmpdir(), 'celeriac-bench-profile-'));
  const sections: string[] = [
    '## Hot spots (CPU profiles taken in this run)',
    '',
    'Self time by module and by function, with our functions mapped back to their TypeScript source lines. ' +
      'Busy time excludes idle. These profiles say where to look; the scenario tables above say how much it matters.',
  ];
  try {
    ctx.log('profile: worker');
    const worker = await profileWorker(ctx, dir, workerCount, ctx.config.redisUrl, ctx.config.backendUrl);
    sections.push(
      '',
      render(
        'Worker process (Redis, concurrency 100, results stored)',
        `\`node --cpu-prof\` on one worker process draining ${workerCount.toLocaleString('en-US')} tasks.`,
        worker,
      ),
    );
    ctx.log('profile: worker, concurrency 1');
    const c1Count = Math.max(500, Math.round(workerCount / 5));
    const c1 = await profileWorker(ctx, dir, c1Count, ctx.config.redisUrl, ctx.config.backendUrl, {
      concurrency: 1,
      results: 'kept',
    });
    sections.push(
      '',
      render(
        'Worker process (Redis, concurrency 1, results stored)',
        `\`node --cpu-prof\` on one worker process draining ${c1Count.toLocaleString('en-US')} tasks one at a time: with one task in flight, idle time is time spent waiting on round trips.`,
        c1,
      ),
    );
    ctx.log('profile: worker, results not kept');
    const dropped = await profileWorker(ctx, dir, workerCount, ctx.config.redisUrl, ctx.config.backendUrl, {
      concurrency: 100,
      results: 'dropped',
    });
    sections.push(
      '',
      render(
        'Worker process (Redis, concurrency 100, results not kept)',
        `\`node --cpu-prof\` on one worker process draining ${workerCount.toLocaleString('en-US')} tasks sent with \`ignoreResult\` (the worker has its result backend, and stores nothing).`,
        dropped,
      ),
    );
    ctx.log('profile: producer');
    const bulk = await profileProducer(ctx, dir, 'bulk', async (client) => {
      for (let i = 0; i < bulkCount; i += 1000)
        await client.enqueueMany(
          noop,
          Array.from({ length: 1000 }, (_, k) => ({ i: i + k })),
        );
    });
    sections.push(
      '',
      render(
        'Producer, `enqueueMany` in batches of 1000 (Redis)',
        `The inspector's sampling profiler in the producer process, ${bulkCount.toLocaleString('en-US')} tasks.`,
        bulk,
      ),
    );
    const single = await profileProducer(ctx, dir, 'single', async (client) => {
      for (let i = 0; i < singleCount; i++) await client.enqueue(noop, { i });
    });
    sections.push(
      '',
      render(
        'Producer, one `enqueue` at a time (Redis)',
        `The inspector's sampling profiler in the producer process, ${singleCount.toLocaleString('en-US')} tasks.`,
        single,
      ),
    );
    ctx.log('profile: producer waiting for results');
    const waits = await profileResultWaits(ctx, dir, singleCount * 2);
    sections.push(
      '',
      render(
        'Producer, `enqueue` then `handle.result()`, 200 in flight (Redis)',
        `The inspector's sampling profiler in the producer process while one worker process (c=100) runs ${(singleCount * 2).toLocaleString('en-US')} tasks.`,
        waits,
      ),
    );
    ctx.log('profile: RabbitMQ worker');
    const { cleanRabbit } = await import('../scenarios/rabbit-raw.js');
    const amqpQueue = uniqueName(ctx.config, 'profile', 'worker', 'bare', 'c100', 'kept');
    const rabbit = await profileWorker(ctx, dir, workerCount, ctx.config.amqpUrl, null)
      .then((s) =>
        render(
          'Worker process (RabbitMQ, concurrency 100, no result backend)',
          `\`node --cpu-prof\` on one worker process draining ${workerCount.toLocaleString('en-US')} tasks from one queue.`,
          s,
        ),
      )
      .catch(
        (e: unknown) =>
          `### Worker process (RabbitMQ)\n\nNot profiled: ${e instanceof Error ? e.message : String(e)}`,
      )
      .finally(() => cleanRabbit(ctx.config.amqpUrl, [amqpQueue]).catch(() => {}));
    sections.push('', rabbit);
    ctx.log('profile: Kafka worker');
    const { kafkaUrl, cleanKafka } = await import('../scenarios/kafka-raw.js');
    const kafka = await profileWorker(
      ctx,
      dir,
      workerCount,
      kafkaUrl(ctx.config.kafkaBrokers, ctx.config.sizes.kafkaPartitions),
      null,
    )
      .then((s) =>
        render(
          'Worker process (Kafka, concurrency 100, no result backend)',
          `\`node --cpu-prof\` on one worker process draining ${workerCount.toLocaleString('en-US')} tasks from a topic of ${ctx.config.sizes.kafkaPartitions} partitions.`,
          s,
        ),
      )
      .catch(
        (e: unknown) =>
          `### Worker process (Kafka)\n\nNot profiled: ${e instanceof Error ? e.message : String(e)}`,
      )
      .finally(() => cleanKafka(ctx.config.kafkaBrokers, ctx.config.runId).catch(() => {}));
    sections.push('', kafka);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return sections.join('\n');
}

import { redisWorkerSpec } from '../child/protocol.js';
import { runWorkerGroup } from '../child/spawn-workers.js';
import { startCeleryWorkers, watchCeleryResults } from '../peers/celery.js';
import { prefillBee, prefillBull, prefillCeleriac, type ResultMode } from '../prefill.js';
import {
  commandCalls,
  commandsPerTask,
  deleteKeys,
  deleteMatching,
  openRedis,
  redisCpuMs,
  resultKeys,
} from '../redis-tools.js';
import type { ScenarioContext } from '../scenario-kit.js';
import { windowRate } from '../stats.js';

/** The Redis systems a drain can run. */
export type DrainSystem = 'Celeriac' | 'BullMQ' | 'bee-queue' | 'Celery';

/** What one drain measured. */
export interface DrainResult {
  /** Tasks per second over the measured window (warm-up completions excluded). */
  readonly rate: number;
  readonly count: number;
  /** From the start signal to the last completion, ms. */
  readonly totalMs: number;
  /** Highest RSS of any worker process, bytes (NaN for Celery). */
  readonly peakRss: number;
  readonly failed: number;
  /** Redis commands per task during the drain, from `INFO commandstats` (whole server). */
  readonly commands?: { total: number; top: [string, number][] };
  /** Where the CPU went during the drain (not measured for Celery's worker processes). */
  readonly cpu?: DrainCpu;
}

/** CPU use of one drain: the worker processes' own accounting and the Redis server's `INFO cpu`. */
export interface DrainCpu {
  /** Worker CPU time per task, µs (all processes). */
  readonly workerUsPerTask: number | null;
  /** Redis server CPU time per task, µs. */
  readonly redisUsPerTask: number;
  /** CPU time of each worker process (all its threads) from start to last completion, as a share of one core (average). */
  readonly workerCoreShare: number | null;
}

/** Share of completions treated as warm-up and left out of the rate. */
export const WARMUP_SHARE = 0.05;

async function drainCelery(
  ctx: ScenarioContext,
  queue: string,
  count: number,
  concurrency: number,
  processes: number,
): Promise<DrainResult> {
  const { celeryPython, redisUrl } = ctx.config;
  if (!celeryPython) throw new Error('Python Celery is not installed (scripts/services up celery)');
  const { celeryEnqueue } = await import('../peers/celery.js');
  const staging = `${queue}-staging`;
  const prefix = `${queue}-id`;
  await celeryEnqueue(celeryPython, redisUrl, staging, count, { idPrefix: prefix });
  const subscriber = openRedis(redisUrl);
  try {
    const workers = await startCeleryWorkers({
      python: celeryPython,
      redisUrl,
      queue,
      concurrency,
      processes,
      subscriber,
      readyChannel: `${queue}-ready`,
    });
    try {
      const watch = await watchCeleryResults(subscriber, prefix, count);
      const before = await commandCalls(ctx.redis);
      const redisBefore = await redisCpuMs(ctx.redis);
      const startedAt = performance.timeOrigin + performance.now();
      // Every worker is consuming: hand them the whole backlog at once (RENAME is atomic).
      await ctx.redis.rename(staging, queue);
      const { times, complete } = await watch.finish(Math.max(60_000, count * 20));
      const redisMs = (await redisCpuMs(ctx.redis)) - redisBefore;
      const commands = commandsPerTask(before, await commandCalls(ctx.redis), count);
      if (!complete) throw new Error(`only ${times.length} of ${count} Celery results arrived`);
      const w = windowRate(times, Math.ceil(count * WARMUP_SHARE));
      return {
        rate: w.rate,
        count: times.length,
        totalMs: (times[times.length - 1] ?? 0) - startedAt,
        peakRss: Number.NaN,
        failed: 0,
        commands,
        cpu: { workerUsPerTask: null, redisUsPerTask: (redisMs * 1000) / count, workerCoreShare: null },
      };
    } finally {
      await workers.stop();
    }
  } finally {
    subscriber.disconnect();
    await deleteMatching(ctx.redis, `celery-task-meta-${prefix}-*`);
  }
}

/**
 * Pre-fills a fresh queue with `count` no-op tasks, then drains it with `processes` worker
 * processes of `concurrency` each, and measures the rate over the window. Results are stored
 * (`kept`), or not kept (`dropped`: Celeriac's `ignoreResult`, BullMQ's `removeOnComplete`; the
 * other systems only keep them).
 */
export async function drain(
  ctx: ScenarioContext,
  system: DrainSystem,
  queue: string,
  count: number,
  concurrency: number,
  processes: number,
  results: ResultMode = 'kept',
): Promise<DrainResult> {
  const { config } = ctx;
  try {
    if (results === 'dropped' && system !== 'Celeriac' && system !== 'BullMQ')
      throw new Error(`${system} is only measured with its results kept`);
    if (system === 'Celery') return await drainCelery(ctx, queue, count, concurrency, processes);
    let ids: string[] = [];
    if (system === 'Celeriac') {
      const sent = await prefillCeleriac(config.redisUrl, queue, count, 0, results);
      // Results not kept: no result keys to clean up afterwards.
      if (results === 'kept') ids = sent;
    } else if (system === 'BullMQ') await prefillBull(config.redisUrl, queue, count, results);
    else await prefillBee(config.redisUrl, queue, count);
    try {
      const before = await commandCalls(ctx.redis);
      let redisAtStart: Promise<number> = Promise.resolve(Number.NaN);
      const r = await runWorkerGroup({
        spec: redisWorkerSpec(config, system, queue, concurrency),
        processes,
        expected: count,
        timeoutMs: Math.max(60_000, count * 10),
        onStarted: () => {
          redisAtStart = redisCpuMs(ctx.redis).catch(() => Number.NaN);
        },
      });
      const redisMs = (await redisCpuMs(ctx.redis)) - (await redisAtStart);
      const workerMs = r.cpuMs.reduce((a, b) => a + b, 0);
      const commands = commandsPerTask(before, await commandCalls(ctx.redis), count);
      if (r.count < count)
        throw new Error(
          `only ${r.count} of ${count} tasks completed${r.errors[0] ? ` (${r.errors[0]})` : ''}`,
        );
      const w = windowRate(r.times, Math.ceil(count * WARMUP_SHARE));
      const peakRss = Math.max(...r.samples.flat().map((s) => s.rss));
      return {
        rate: w.rate,
        count: r.count,
        totalMs: r.lastAt - r.startedAt,
        peakRss,
        failed: r.failed,
        commands,
        cpu: {
          workerUsPerTask: (workerMs * 1000) / r.count,
          redisUsPerTask: (redisMs * 1000) / r.count,
          // Idle after the last completion costs no CPU, so the window ends there.
          workerCoreShare: workerMs / processes / Math.max(1, r.lastAt - r.startedAt),
        },
      };
    } finally {
      if (ids.length) await deleteKeys(ctx.redis, resultKeys(ids));
    }
  } finally {
    await deleteMatching(ctx.redis, `*${queue}*`);
  }
}

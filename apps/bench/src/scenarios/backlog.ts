import { Queue } from 'bullmq';
import { openBackend, openBroker, probeBroker } from '../celeriac.js';
import { redisWorkerSpec } from '../child/protocol.js';
import { redisOptions } from '../child/runners.js';
import { runWorkerGroup } from '../child/spawn-workers.js';
import { uniqueName } from '../config.js';
import { prefillBull, prefillCeleriac } from '../prefill.js';
import { deleteKeys, deleteMatching, resultKeys, usedMemory } from '../redis-tools.js';
import { Recorder, type Scenario, type ScenarioContext } from '../scenario-kit.js';
import { formatRatio, mib, ratio, windowRate } from '../stats.js';
import type { Cell, Chart, TargetCheck } from '../types.js';
import { WARMUP_SHARE } from './drain.js';
import { type StreamResult, streamThroughOneWorker } from './stream.js';

type System = 'Celeriac' | 'BullMQ';

/** The 100k-style backlog: memory per queued task, drain time by four processes, loss check. */
interface BacklogResult {
  readonly bytesPerTask: number;
  readonly peakMemory: number;
  readonly totalMs: number;
  readonly rate: number;
  readonly peakRss: number;
  readonly completed: number;
  /** Tasks without a SUCCESS result (Celeriac) / not in the completed set (BullMQ) after the drain. */
  readonly missing: number;
  readonly left: number;
}

async function countMissingCeleriac(backendUrl: string, ids: readonly string[]): Promise<number> {
  const backend = await openBackend(backendUrl);
  let missing = 0;
  try {
    for (let i = 0; i < ids.length; i += 1000) {
      const metas = await backend.getMany(ids.slice(i, i + 1000));
      missing += metas.filter((m) => m?.status !== 'SUCCESS').length;
    }
  } finally {
    await backend.close();
  }
  return missing;
}

async function backlog(ctx: ScenarioContext, system: System, count: number): Promise<BacklogResult> {
  const { config, redis } = ctx;
  const queue = uniqueName(config, 'backlog', system);
  let ids: string[] = [];
  try {
    const before = await usedMemory(redis);
    if (system === 'Celeriac') ids = await prefillCeleriac(config.redisUrl, queue, count);
    else await prefillBull(config.redisUrl, queue, count);
    const after = await usedMemory(redis);
    let peakMemory = after;
    const sampler = setInterval(() => {
      usedMemory(redis).then(
        (m) => {
          peakMemory = Math.max(peakMemory, m);
        },
        () => {},
      );
    }, 250);
    const r = await runWorkerGroup({
      spec: redisWorkerSpec(config, system, queue, 100),
      processes: 4,
      expected: count,
      timeoutMs: 120_000 + count * 5,
    }).finally(() => clearInterval(sampler));
    if (r.count < count)
      throw new Error(`only ${r.count} of ${count} tasks completed${r.errors[0] ? ` (${r.errors[0]})` : ''}`);
    let missing: number;
    let left: number;
    if (system === 'Celeriac') {
      missing = await countMissingCeleriac(config.backendUrl, ids);
      const broker = await openBroker(config.redisUrl);
      left = await broker.depth(queue).finally(() => broker.close());
    } else {
      const q = new Queue(queue, { connection: redisOptions(config.redisUrl) });
      const counts = await q.getJobCounts('completed', 'wait', 'active', 'delayed', 'failed');
      await q.close();
      missing = count - (counts.completed ?? 0);
      left = (counts.wait ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0);
    }
    return {
      bytesPerTask: (after - before) / count,
      peakMemory: peakMemory - before,
      totalMs: r.lastAt - r.startedAt,
      rate: windowRate(r.times, Math.ceil(count * WARMUP_SHARE)).rate,
      peakRss: Math.max(...r.samples.flat().map((s) => s.rss)),
      completed: r.count,
      missing,
      left,
    };
  } finally {
    if (ids.length) await deleteKeys(redis, resultKeys(ids));
    await deleteMatching(redis, `*${queue}*`);
  }
}

const round1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '—');

function rssChart(s: StreamResult): Chart {
  return {
    kind: 'line',
    title: `One Celeriac worker, ${s.count.toLocaleString('en-US')} tasks: RSS and heap over tasks processed`,
    xLabel: 'tasks processed',
    yLabel: 'MiB',
    series: [
      { name: 'RSS', points: s.samples.map((p) => [p.count, mib(p.rss)] as const) },
      { name: 'heap used', points: s.samples.map((p) => [p.count, mib(p.heapUsed)] as const) },
    ],
  };
}

/** Scenario 4: a large backlog drained by four processes, then a long stream through one worker. */
export const backlogScenario: Scenario = {
  id: 'backlog',
  title: '4. Backlog and memory (Redis)',
  async run(ctx) {
    const rec = new Recorder(ctx.log);
    const { sizes } = ctx.config;
    const method =
      `(a) ${sizes.backlog.toLocaleString('en-US')} tasks are enqueued in batches of 1000 onto a fresh queue, Redis \`used_memory\` read before and after ` +
      `(memory per queued task), then four worker processes (concurrency 100 each, results stored) drain it; Redis memory is sampled ` +
      `every 250 ms during the drain, worker RSS every 250 ms. Afterwards every task must have its SUCCESS result (Celeriac: read back ` +
      `from the result backend; BullMQ: its completed count) and the queue must be empty. (b) ${sizes.stream.toLocaleString('en-US')} tasks ` +
      `through one Celeriac worker process (concurrency 100, results stored), fed by this process so the backlog stays under 20,000; ` +
      `RSS and heap are sampled every second. "Flat" means the least-squares growth of RSS after the first 10% of tasks is under ` +
      `max(16 MiB, 10% of the RSS at that point) over the whole run.`;
    const probe = await probeBroker(ctx.config.redisUrl, uniqueName(ctx.config, 'probe'));
    const results = new Map<System, BacklogResult>();
    for (const system of ['Celeriac', 'BullMQ'] as const) {
      if (system === 'Celeriac' && probe) {
        rec.skipped.push(`Celeriac backlog: ${probe}`);
        continue;
      }
      const r = await rec.attempt(`${system} backlog of ${sizes.backlog}`, () =>
        backlog(ctx, system, sizes.backlog),
      );
      if (!r) continue;
      results.set(system, r);
      for (const v of [r.bytesPerTask, r.totalMs, r.rate, r.peakRss]) rec.keep(v);
    }
    const stream = probe
      ? null
      : await rec.attempt(`Celeriac stream of ${sizes.stream}`, () =>
          streamThroughOneWorker(ctx, sizes.stream),
        );
    if (stream) for (const v of [stream.startRss, stream.peakRss, stream.endRss, stream.rate]) rec.keep(v);
    const ours = results.get('Celeriac');
    const bull = results.get('BullMQ');
    const row = (
      label: string,
      f: (r: BacklogResult) => Cell,
      cmp?: (a: number, b: number) => number,
    ): Cell[] => {
      const a = ours ? f(ours) : null;
      const b = bull ? f(bull) : null;
      return [label, a, b, cmp && a !== null && b !== null ? formatRatio(cmp(Number(a), Number(b))) : ''];
    };
    const table = {
      columns: ['', 'Celeriac', 'BullMQ', 'Celeriac ÷ BullMQ'],
      rows: [
        row('Redis memory per queued task (bytes)', (r) => Math.round(r.bytesPerTask), ratio),
        row('Redis memory growth at peak, during the drain (MiB)', (r) => round1(mib(r.peakMemory)), ratio),
        row('drain time, start to last completion (s)', (r) => round1(r.totalMs / 1000), ratio),
        row('drain rate over the window (tasks/s)', (r) => Math.round(r.rate), ratio),
        row('peak RSS of one worker process (MiB)', (r) => round1(mib(r.peakRss)), ratio),
        row('tasks completed', (r) => r.completed),
        row('tasks without a SUCCESS result afterwards', (r) => r.missing),
        row('tasks left on the queue', (r) => r.left),
      ],
    };
    const streamTable = stream
      ? {
          title: `One worker, ${stream.count.toLocaleString('en-US')} tasks`,
          columns: [
            'RSS at 10% (MiB)',
            'peak RSS (MiB)',
            'RSS at end (MiB)',
            'fitted growth (MiB)',
            'heap at end (MiB)',
            'rate (tasks/s)',
            'duration (s)',
          ],
          rows: [
            [
              mib(stream.startRss),
              mib(stream.peakRss),
              mib(stream.endRss),
              mib(stream.fittedGrowth),
              mib(stream.endHeap),
              stream.rate,
              stream.durationMs / 1000,
            ],
          ],
          digits: [1, 1, 1, 1, 1, 0, 1],
        }
      : null;
    const targets: TargetCheck[] = [
      {
        name: `${sizes.backlog.toLocaleString('en-US')}-task backlog drained with no loss`,
        held: ours ? ours.missing === 0 && ours.left === 0 && ours.completed >= sizes.backlog : null,
        detail: ours
          ? `${ours.completed.toLocaleString('en-US')} completed, ${ours.missing} without a result, ${ours.left} left on the queue, in ${(ours.totalMs / 1000).toFixed(1)} s`
          : 'not measured in this run',
      },
      {
        name: `Worker RSS flat over ${sizes.stream.toLocaleString('en-US')} tasks`,
        held: stream ? stream.flat : null,
        detail: stream
          ? `RSS ${mib(stream.startRss).toFixed(1)} → ${mib(stream.endRss).toFixed(1)} MiB (peak ${mib(stream.peakRss).toFixed(1)}), fitted growth ${mib(stream.fittedGrowth).toFixed(1)} MiB`
          : 'not measured in this run',
      },
    ];
    return {
      id: this.id,
      title: this.title,
      method,
      tables: streamTable ? [table, streamTable] : [table],
      charts: stream ? [rssChart(stream)] : [],
      targets,
      notes: rec.notes,
      numbers: rec.numbers,
      skipped: rec.skipped,
    };
  },
};

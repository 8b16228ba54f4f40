import { createClient } from '@celeriac/core/producer';
import { noop, openBroker } from '../celeriac.js';
import { type RssSample, redisWorkerSpec } from '../child/protocol.js';
import { runWorkerGroup } from '../child/spawn-workers.js';
import { uniqueName } from '../config.js';
import { deleteKeys, deleteMatching, resultKeys } from '../redis-tools.js';
import type { ScenarioContext } from '../scenario-kit.js';

/** What the long run through one worker measured. */
export interface StreamResult {
  readonly count: number;
  readonly durationMs: number;
  readonly rate: number;
  /** RSS when 10% of the tasks were done (after warm-up), at peak, and at the end; bytes. */
  readonly startRss: number;
  readonly peakRss: number;
  readonly endRss: number;
  readonly endHeap: number;
  /** Least-squares RSS growth from the 10% mark to the end, bytes. */
  readonly fittedGrowth: number;
  readonly flat: boolean;
  readonly samples: readonly RssSample[];
}

const MAX_BACKLOG = 20_000;
const BATCH = 1000;

function fittedGrowth(samples: readonly RssSample[]): number {
  if (samples.length < 2) return 0;
  const n = samples.length;
  const mx = samples.reduce((s, p) => s + p.count, 0) / n;
  const my = samples.reduce((s, p) => s + p.rss, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of samples) {
    sxy += (p.count - mx) * (p.rss - my);
    sxx += (p.count - mx) ** 2;
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  const first = samples[0] as RssSample;
  const last = samples[n - 1] as RssSample;
  return slope * (last.count - first.count);
}

/**
 * Feeds `count` tasks through one worker process, keeping the backlog under 20,000 so Redis holds
 * little at a time, and samples the worker's RSS every second. Result keys are deleted behind the
 * worker as it goes.
 */
export async function streamThroughOneWorker(ctx: ScenarioContext, count: number): Promise<StreamResult> {
  const { config, redis } = ctx;
  const queue = uniqueName(config, 'stream');
  const broker = await openBroker(config.redisUrl);
  const client = createClient({ broker, defaultQueue: queue });
  let processed = 0;
  let produced = 0;
  const done: { end: number; ids: string[] }[] = [];
  let producerError: unknown;
  const produce = async () => {
    while (produced < count) {
      if (produced - processed >= MAX_BACKLOG) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const n = Math.min(BATCH, count - produced);
      const from = produced;
      const handles = await client.enqueueMany(
        noop,
        Array.from({ length: n }, (_, k) => ({ i: from + k })),
      );
      produced += n;
      done.push({ end: produced, ids: handles.map((h) => h.id) });
      // Results of tasks well behind the worker's progress are no longer needed.
      while (done.length && (done[0]?.end ?? 0) + 2 * BATCH < processed) {
        await deleteKeys(redis, resultKeys(done.shift()?.ids ?? []));
      }
    }
  };
  let producing: Promise<void> = Promise.resolve();
  try {
    const r = await runWorkerGroup({
      spec: redisWorkerSpec(config, 'Celeriac', queue, 100),
      processes: 1,
      expected: count,
      timeoutMs: 120_000 + count * 2,
      recordTimes: false,
      sampleMs: 1000,
      onProgress: (n) => {
        processed = n;
      },
      onStarted: () => {
        producing = produce().catch((e: unknown) => {
          producerError = e;
        });
      },
    });
    await producing;
    if (producerError) throw producerError;
    if (r.count < count)
      throw new Error(`only ${r.count} of ${count} tasks completed${r.errors[0] ? ` (${r.errors[0]})` : ''}`);
    const samples = r.samples[0] ?? [];
    const after = samples.filter((s) => s.count >= count * 0.1);
    const startRss = after[0]?.rss ?? Number.NaN;
    const end = samples[samples.length - 1];
    const growth = fittedGrowth(after);
    return {
      count: r.count,
      durationMs: r.lastAt - r.startedAt,
      rate: (r.count * 1000) / (r.lastAt - r.startedAt),
      startRss,
      peakRss: Math.max(...samples.map((s) => s.rss)),
      endRss: end?.rss ?? Number.NaN,
      endHeap: end?.heapUsed ?? Number.NaN,
      fittedGrowth: growth,
      flat: growth < Math.max(16 * 1024 * 1024, 0.1 * startRss),
      samples,
    };
  } finally {
    await client.close();
    for (const d of done) await deleteKeys(redis, resultKeys(d.ids));
    await deleteMatching(redis, `*${queue}*`);
  }
}

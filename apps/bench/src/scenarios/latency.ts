import { availableParallelism } from 'node:os';
import { createClient } from '@celeriac/core/producer';
import { QueueEvents } from 'bullmq';
import { noop, openBackend, openBroker, probeBroker } from '../celeriac.js';
import { type ChildSpec, redisWorkerSpec } from '../child/protocol.js';
import { redisOptions } from '../child/runners.js';
import { runWorkerGroup } from '../child/spawn-workers.js';
import { uniqueName } from '../config.js';
import { openBullQueue } from '../peers/bullmq.js';
import { deleteKeys, deleteMatching, redisCpuMs, resultKeys } from '../redis-tools.js';
import { Recorder, type Scenario, type ScenarioContext } from '../scenario-kit.js';
import { formatRatio, percentile, ratio } from '../stats.js';
import type { Bar, Cell, TargetCheck } from '../types.js';

type System = 'Celeriac' | 'BullMQ';
const WARMUP_S = 1;
const CONCURRENCY = 100;
/** The one-at-a-time row: a worker of concurrency 1 at a light load, where latency is the round trips alone. */
const SINGLE = { rate: 100, concurrency: 1 } as const;

/** One offered load: the rate and the worker's concurrency. */
interface Load {
  readonly rate: number;
  readonly concurrency: number;
}

const loadLabel = (l: Load) =>
  `${l.rate.toLocaleString('en-US')}/s${l.concurrency === CONCURRENCY ? '' : `, c=${l.concurrency}`}`;
const loadKey = (system: System, l: Load) => `${system}/${l.rate}/${l.concurrency}`;

/** Latency percentiles of one offered load. */
interface LoadResult {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  /** Completions per second over the whole load. */
  readonly achieved: number;
  readonly samples: number;
  readonly lost: number;
  /** Slowest result during the warm-up second (not in the percentiles). */
  readonly warmMax: number;
  /** Shares of one core busy from the first send to the last result seen (1 = a whole core). */
  readonly cpu: { readonly producer: number; readonly worker: number; readonly redis: number };
}

/** Sends `fire(i)` for i = 0..total-1 at `rate` per second, open loop; `fire` gets the intended send time. */
async function paced(
  rate: number,
  total: number,
  fire: (i: number, intended: number) => void,
): Promise<void> {
  const interval = 1000 / rate;
  const t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor((performance.now() - t0) / interval) + 1);
    while (sent < due) {
      fire(sent, t0 + sent * interval);
      sent++;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * Runs one offered load against one system: a worker process (of the load's concurrency) on a
 * fresh queue, this process enqueuing at `rate`/s and waiting for each result the way an
 * application would. Latency runs from the intended send time (so a producer falling behind counts
 * against it).
 */
async function load(ctx: ScenarioContext, system: System, { rate, concurrency }: Load): Promise<LoadResult> {
  const { config } = ctx;
  const seconds = config.sizes.latencySeconds;
  const total = Math.round(rate * (WARMUP_S + seconds));
  const skip = rate * WARMUP_S;
  // How long the producer waits for a result before counting it as not seen.
  const resultTimeoutMs = config.mode === 'quick' ? 10_000 : 30_000;
  const queue = uniqueName(config, 'lat', system, String(rate), `c${concurrency}`);
  const latencies: number[] = [];
  let warmMax = 0;
  let firstCounted = Number.POSITIVE_INFINITY;
  let lastCounted = 0;
  let lost = 0;
  let lastSeen = 0;
  const pending: Promise<void>[] = [];
  const ids: string[] = [];
  let produce: () => Promise<void>;
  let close: () => Promise<void>;
  const record = (i: number, intended: number) => {
    const lastDone = performance.now();
    lastSeen = lastDone;
    if (i < skip) {
      warmMax = Math.max(warmMax, lastDone - intended);
      return;
    }
    latencies.push(lastDone - intended);
    firstCounted = Math.min(firstCounted, intended);
    lastCounted = Math.max(lastCounted, lastDone);
  };
  let spec: ChildSpec;
  if (system === 'Celeriac') {
    const broker = await openBroker(config.redisUrl);
    const backend = await openBackend(config.backendUrl);
    const client = createClient({ broker, backend, defaultQueue: queue });
    spec = redisWorkerSpec(config, 'Celeriac', queue, concurrency);
    produce = () =>
      paced(rate, total, (i, intended) => {
        pending.push(
          client
            .enqueue(noop, { i })
            .then((h) => {
              ids.push(h.id);
              return h.result({ timeoutMs: resultTimeoutMs });
            })
            .then(
              () => record(i, intended),
              () => void lost++,
            ),
        );
      });
    close = () => client.close();
  } else {
    const q = await openBullQueue(config.redisUrl, queue);
    const events = new QueueEvents(queue, { connection: redisOptions(config.redisUrl) });
    await events.waitUntilReady();
    const waiting = new Map<string, { i: number; intended: number; resolve: () => void }>();
    events.on('completed', ({ jobId }) => {
      const w = waiting.get(jobId);
      if (!w) return;
      waiting.delete(jobId);
      record(w.i, w.intended);
      w.resolve();
    });
    spec = redisWorkerSpec(config, 'BullMQ', queue, concurrency);
    produce = () =>
      paced(rate, total, (i, intended) => {
        const jobId = `j${i}`;
        pending.push(
          new Promise<void>((resolve) => {
            const timer = setTimeout(
              () => {
                if (waiting.delete(jobId)) lost++;
                resolve();
              },
              resultTimeoutMs + (total / rate) * 1000,
            );
            waiting.set(jobId, {
              i,
              intended,
              resolve: () => {
                clearTimeout(timer);
                resolve();
              },
            });
            q.add('noop', { i }, { jobId }).catch(() => {
              waiting.delete(jobId);
              lost++;
              resolve();
            });
          }),
        );
      });
    close = async () => {
      await events.close();
      await q.close();
    };
  }
  let producing: Promise<void> = Promise.resolve();
  let startedAt = 0;
  let producerCpu = process.cpuUsage();
  let redisAtStart: Promise<number> = Promise.resolve(Number.NaN);
  let workerCpuMs = Number.NaN;
  let redisMs = Number.NaN;
  let producerMs = Number.NaN;
  try {
    const group = await runWorkerGroup({
      spec,
      processes: 1,
      expected: total,
      timeoutMs: (WARMUP_S + seconds) * 1000 + 60_000,
      recordTimes: false,
      onStarted: () => {
        startedAt = performance.now();
        producerCpu = process.cpuUsage();
        redisAtStart = redisCpuMs(ctx.redis).catch(() => Number.NaN);
        producing = produce();
      },
    });
    await producing;
    await Promise.all(pending);
    const cpu = process.cpuUsage(producerCpu);
    producerMs = (cpu.user + cpu.system) / 1000;
    redisMs = (await redisCpuMs(ctx.redis)) - (await redisAtStart);
    workerCpuMs = group.cpuMs[0] ?? Number.NaN;
  } finally {
    await close();
    await deleteKeys(ctx.redis, resultKeys(ids));
    await deleteMatching(ctx.redis, `*${queue}*`);
  }
  latencies.sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    p999: percentile(latencies, 99.9),
    max: latencies[latencies.length - 1] ?? Number.NaN,
    achieved: (latencies.length * 1000) / (lastCounted - firstCounted),
    samples: latencies.length,
    lost,
    warmMax,
    cpu: {
      producer: producerMs / Math.max(1, lastSeen - startedAt),
      worker: workerCpuMs / Math.max(1, lastSeen - startedAt),
      redis: redisMs / Math.max(1, lastSeen - startedAt),
    },
  };
}

/** "producer / worker / Redis" busy shares in % of one core. */
function cpuCell(r: LoadResult): string {
  const pct = (v: number) => (Number.isFinite(v) ? String(Math.round(v * 100)) : '?');
  return `${pct(r.cpu.producer)} / ${pct(r.cpu.worker)} / ${pct(r.cpu.redis)}`;
}

/**
 * Why a latency misses on a shared machine: how much of its CPU the three processes kept busy, and
 * as much for BullMQ at the same offered load when it ran.
 */
function busyNote(r: LoadResult, bull: LoadResult | undefined): string {
  const sum = (x: LoadResult) => x.cpu.producer + x.cpu.worker + x.cpu.redis;
  const total = sum(r);
  if (!Number.isFinite(total)) return 'CPU use not measured';
  const peer =
    bull && Number.isFinite(sum(bull))
      ? `; BullMQ's at the same load: ${cpuCell(bull)}, ${Math.round(sum(bull) * 100)}% in all`
      : '';
  return (
    `p50 ${r.p50.toFixed(2)} ms; the producer, the worker and Redis (${cpuCell(r)} % of one core) together kept ` +
    `${Math.round(total * 100)}% of one core busy, on a ${availableParallelism()}-core machine they share${peer}`
  );
}

/** Scenario 3: enqueue → result seen by the producer, at fixed offered loads. */
export const latencyScenario: Scenario = {
  id: 'latency',
  title: '3. End-to-end latency at fixed offered load (Redis)',
  async run(ctx) {
    const rec = new Recorder(ctx.log);
    const { sizes } = ctx.config;
    const method =
      `One worker process (concurrency ${CONCURRENCY}; in the "${loadLabel(SINGLE)}" rows, concurrency ${SINGLE.concurrency}; results stored) on a fresh queue; this process enqueues one task at a time on an ` +
      `open-loop schedule at the offered rate for ${WARMUP_S + sizes.latencySeconds} s and waits for every result the way an application would ` +
      `(Celeriac: \`handle.result()\`; BullMQ: a \`QueueEvents\` 'completed' listener, as \`job.waitUntilFinished\` uses). Latency runs from the ` +
      `*intended* send time to the moment the producer sees the result, so a producer that falls behind is charged for it. The first ` +
      `${WARMUP_S} s is warm-up and not counted. Milliseconds. A result not seen within 30 s (quick mode: 10 s) is counted under "results not seen" and left out of the percentiles. CPU: the CPU time of this process, of the worker process and of the Redis server (\`INFO cpu\`) from the first send to the last result seen, as a share of one core.`;
    const probe = await probeBroker(ctx.config.redisUrl, uniqueName(ctx.config, 'probe'));
    const results = new Map<string, LoadResult>();
    const loads: Load[] = [SINGLE, ...sizes.latencyRates.map((rate) => ({ rate, concurrency: CONCURRENCY }))];
    for (const l of loads) {
      for (const system of ['Celeriac', 'BullMQ'] as const) {
        const label = `${system} ${loadLabel(l)}`;
        if (system === 'Celeriac' && probe) {
          rec.skipped.push(`${label}: ${probe}`);
          continue;
        }
        const r = await rec.attempt(label, () => load(ctx, system, l));
        if (!r) continue;
        results.set(loadKey(system, l), r);
        for (const v of [r.p50, r.p99, r.p999, r.max, r.achieved]) rec.keep(v);
        if (r.lost) rec.notes.push(`${label}: ${r.lost} result(s) not seen in time`);
        if (r.warmMax > 1000)
          rec.notes.push(
            `${label}: the slowest result of the warm-up second took ${Math.round(r.warmMax)} ms`,
          );
      }
    }
    const rows: Cell[][] = [];
    const bars: Bar[] = [];
    for (const l of loads) {
      const { rate } = l;
      const group = l.concurrency === CONCURRENCY ? `${rate / 1000}k/s` : `${rate}/s c=${l.concurrency}`;
      for (const system of ['Celeriac', 'BullMQ'] as const) {
        const r = results.get(loadKey(system, l));
        rows.push([
          loadLabel(l),
          system,
          r?.p50 ?? null,
          r?.p99 ?? null,
          r?.p999 ?? null,
          r?.max ?? null,
          r?.achieved ?? null,
          r?.samples ?? null,
          r ? r.lost : null,
          r ? cpuCell(r) : null,
        ]);
        if (r) {
          bars.push({ group: `${group} p50`, series: system, value: r.p50 });
          bars.push({ group: `${group} p99`, series: system, value: r.p99 });
        }
      }
      const ours = results.get(loadKey('Celeriac', l));
      const bull = results.get(loadKey('BullMQ', l));
      rows.push([
        loadLabel(l),
        'Celeriac ÷ BullMQ',
        formatRatio(ratio(ours?.p50, bull?.p50)),
        formatRatio(ratio(ours?.p99, bull?.p99)),
        formatRatio(ratio(ours?.p999, bull?.p999)),
        formatRatio(ratio(ours?.max, bull?.max)),
        formatRatio(ratio(ours?.achieved, bull?.achieved)),
        '',
        '',
        '',
      ]);
    }
    const at = (system: System, rate: number) =>
      results.get(loadKey(system, { rate, concurrency: CONCURRENCY }));
    const ours1k = at('Celeriac', 1000);
    const bull1k = at('BullMQ', 1000);
    const ours5k = at('Celeriac', 5000);
    const bull5k = at('BullMQ', 5000);
    const targets: TargetCheck[] = [
      {
        name: 'e2e p99 at 1k/s ≤ BullMQ p99',
        held: ours1k && bull1k ? ours1k.p99 <= bull1k.p99 : null,
        detail:
          ours1k && bull1k
            ? `${ours1k.p99.toFixed(2)} ms vs ${bull1k.p99.toFixed(2)} ms${
                ours1k.p99 <= bull1k.p99 ? '' : `; ${busyNote(ours1k, bull1k)}`
              }`
            : 'not measured in this run',
      },
      {
        name: 'e2e p99 at 5k/s < 10 ms',
        held: ours5k ? ours5k.p99 < 10 : null,
        detail: ours5k
          ? `${ours5k.p99.toFixed(2)} ms (requirement < 50 ms: ${ours5k.p99 < 50 ? 'met' : 'not met'})${
              ours5k.p99 >= 10 && ours5k.achieved < 0.95 * 5000
                ? `; the pipeline completed only ${Math.round(ours5k.achieved).toLocaleString('en-US')} of the 5,000 tasks/s offered, so tasks queued up and the latency is mostly queueing delay (compare the drain rates of scenario 2 and the profiles in "Hot spots")`
                : ''
            }${ours5k.p99 >= 10 ? `; ${busyNote(ours5k, bull5k)}; see "Worker process (Redis, concurrency 100, results stored)" and "Producer, \`enqueue\` then \`handle.result()\`" in "Hot spots"` : ''}`
          : 'not measured in this run',
      },
    ];
    return {
      id: this.id,
      title: this.title,
      method,
      tables: [
        {
          columns: [
            'offered load',
            'system',
            'p50 (ms)',
            'p99 (ms)',
            'p99.9 (ms)',
            'max (ms)',
            'achieved (tasks/s)',
            'samples',
            'results not seen',
            'CPU, % of one core (producer / worker / Redis)',
          ],
          rows,
          digits: [undefined, undefined, 2, 2, 2, 1, 0, 0, 0, undefined],
        },
      ],
      charts: [
        { kind: 'bar', title: 'End-to-end latency (ms, lower is better)', unit: 'ms', bars, log: true },
      ],
      targets,
      notes: rec.notes,
      numbers: rec.numbers,
      skipped: rec.skipped,
    };
  },
};

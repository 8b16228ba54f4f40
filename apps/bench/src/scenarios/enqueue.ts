import { createClient } from '@celeriac/core/producer';
import { noop, openBroker, probeBroker } from '../celeriac.js';
import { uniqueName } from '../config.js';
import { beeDestroy, beeSaveAll, beeSaveLoop, openBeeQueue } from '../peers/bee.js';
import { bullAddBulk, bullAddLoop, bullDestroy, openBullQueue } from '../peers/bullmq.js';
import { celeryEnqueue } from '../peers/celery.js';
import { deleteMatching, redisCpuMs } from '../redis-tools.js';
import {
  Recorder as Rec,
  type Recorder,
  type Scenario,
  type ScenarioContext,
  timed,
} from '../scenario-kit.js';
import { formatRatio, median, ratio } from '../stats.js';
import type { Bar, Cell, TargetCheck } from '../types.js';

const SYSTEMS = ['Celeriac', 'BullMQ', 'bee-queue', 'Celery'] as const;
type System = (typeof SYSTEMS)[number];
const CASES = ['single', 'bulk 50', 'bulk 1000'] as const;
type Case = (typeof CASES)[number];

/** One producer under test: `run(from, count)` enqueues `count` tasks numbered from `from`. */
interface Producer {
  run(from: number, count: number): Promise<void>;
  close(): Promise<void>;
}

async function producerFor(ctx: ScenarioContext, system: System, c: Case, queue: string): Promise<Producer> {
  const { redisUrl } = ctx.config;
  const batch = c === 'bulk 50' ? 50 : 1000;
  if (system === 'Celeriac') {
    const broker = await openBroker(redisUrl);
    const client = createClient({ broker, defaultQueue: queue });
    return {
      async run(from, count) {
        if (c === 'single') {
          for (let i = from; i < from + count; i++) await client.enqueue(noop, { i });
          return;
        }
        for (let i = from; i < from + count; i += batch) {
          const n = Math.min(batch, from + count - i);
          await client.enqueueMany(
            noop,
            Array.from({ length: n }, (_, k) => ({ i: i + k })),
          );
        }
      },
      close: () => client.close(),
    };
  }
  if (system === 'BullMQ') {
    const q = await openBullQueue(redisUrl, queue);
    return {
      run: (from, count) =>
        c === 'single' ? bullAddLoop(q, from, count) : bullAddBulk(q, from, count, batch),
      close: () => bullDestroy(q),
    };
  }
  if (system === 'bee-queue') {
    const q = await openBeeQueue(redisUrl, queue);
    return {
      run: (from, count) =>
        c === 'single' ? beeSaveLoop(q, from, count) : beeSaveAll(q, from, count, batch),
      close: () => beeDestroy(q),
    };
  }
  throw new Error('Celery runs through Python');
}

/** CPU per task of a timed run: this (producer) process and the Redis server, µs. */
interface EnqueueCpu {
  readonly producerUs: number;
  readonly redisUs: number;
}

async function measure(
  ctx: ScenarioContext,
  rec: Recorder,
  system: System,
  c: Case,
  repeat: number,
  cpuOut?: (cpu: EnqueueCpu) => void,
): Promise<number | null> {
  const { sizes, celeryPython, redisUrl } = ctx.config;
  const queue = uniqueName(ctx.config, 'enq', system, c.replace(' ', ''), String(repeat));
  return rec.attempt(`${system} ${c} #${repeat + 1}`, async () => {
    try {
      if (system === 'Celery') {
        if (!celeryPython) throw new Error('Python Celery is not installed (scripts/services up celery)');
        const n = sizes.enqueueCelery;
        const r = await celeryEnqueue(celeryPython, redisUrl, queue, n, { warmup: Math.min(200, n) });
        return (r.count * 1000) / (r.seconds * 1000);
      }
      const n = c === 'single' ? sizes.enqueueSingle : sizes.enqueueBulk;
      const warmup = c === 'single' ? Math.min(500, n / 10) : Math.min(5_000, n / 10);
      const producer = await producerFor(ctx, system, c, queue);
      try {
        await producer.run(1_000_000_000, warmup);
        const redisBefore = await redisCpuMs(ctx.redis);
        const cpuBefore = process.cpuUsage();
        const ms = await timed(() => producer.run(0, n));
        const cpu = process.cpuUsage(cpuBefore);
        const redisMs = (await redisCpuMs(ctx.redis)) - redisBefore;
        cpuOut?.({ producerUs: (cpu.user + cpu.system) / n, redisUs: (redisMs * 1000) / n });
        return (n * 1000) / ms;
      } finally {
        await producer.close();
      }
    } finally {
      await deleteMatching(ctx.redis, `*${queue}*`);
    }
  });
}

function target(name: string, ours: number, peer: number, want: number, why: string): TargetCheck {
  const r = ratio(ours, peer);
  if (!Number.isFinite(r)) return { name, held: null, detail: 'not measured in this run' };
  const held = r >= want;
  return {
    name,
    held,
    detail: `${formatRatio(r)} (${Math.round(ours).toLocaleString('en-US')} vs ${Math.round(peer).toLocaleString('en-US')} tasks/s)${held ? '' : `; ${why}`}`,
  };
}

/** Scenario 1: producer throughput, single and bulk, against every peer. */
export const enqueueScenario: Scenario = {
  id: 'enqueue',
  title: '1. Enqueue throughput (Redis)',
  async run(ctx) {
    const rec = new Rec(ctx.log);
    const { sizes } = ctx.config;
    const method =
      `Tasks enqueued per second by one producer in this process (payload \`{ i }\`), after a warm-up that is not timed. ` +
      `single: one awaited \`client.enqueue\` / \`queue.add\` / \`job.save()\` / \`apply_async\` per task, ${sizes.enqueueSingle.toLocaleString('en-US')} tasks ` +
      `(Celery: ${sizes.enqueueCelery.toLocaleString('en-US')}, in its own Python process). bulk N: \`enqueueMany\` / \`addBulk\` / \`saveAll\` with N tasks per call, ` +
      `${sizes.enqueueBulk.toLocaleString('en-US')} tasks. Median of ${sizes.enqueueRepeats} run(s).`;
    const probe = await probeBroker(ctx.config.redisUrl, uniqueName(ctx.config, 'probe'));
    const results = new Map<string, number[]>();
    // CPU per task of single enqueue, per system: where a call's time goes besides waiting.
    const singleCpu = new Map<System, EnqueueCpu[]>();
    for (let r = 0; r < sizes.enqueueRepeats; r++) {
      for (const c of CASES) {
        for (const system of SYSTEMS) {
          if (system === 'Celery' && c !== 'single') continue;
          if (system === 'Celeriac' && probe) {
            if (r === 0) rec.skipped.push(`Celeriac ${c}: ${probe}`);
            continue;
          }
          const v = await measure(ctx, rec, system, c, r, (cpu) => {
            if (c === 'single') singleCpu.set(system, [...(singleCpu.get(system) ?? []), cpu]);
          });
          if (v !== null) results.set(`${system}/${c}`, [...(results.get(`${system}/${c}`) ?? []), v]);
        }
      }
    }
    const value = (s: System, c: Case): number | null => {
      const vs = results.get(`${s}/${c}`);
      return vs?.length ? rec.keep(median(vs)) : null;
    };
    const rows: Cell[][] = [];
    const bars: Bar[] = [];
    const table = new Map<string, number | null>();
    for (const c of CASES) {
      const vs = SYSTEMS.map((s) => value(s, c));
      SYSTEMS.forEach((s, k) => {
        table.set(`${s}/${c}`, vs[k] ?? null);
        const v = vs[k];
        if (v != null) bars.push({ group: c, series: s, value: v });
      });
      const [ours, bull, bee, celery] = vs;
      rows.push([
        c,
        ...vs.slice(0, 3),
        c === 'single' ? (celery ?? null) : 'n/a',
        formatRatio(ratio(ours, bull)),
        formatRatio(ratio(ours, bee)),
        formatRatio(ratio(ours, celery)),
      ]);
    }
    const get = (s: System, c: Case) => table.get(`${s}/${c}`) ?? Number.NaN;
    const cpuOf = (s: System) => {
      const list = singleCpu.get(s) ?? [];
      return { producer: median(list.map((x) => x.producerUs)), redis: median(list.map((x) => x.redisUs)) };
    };
    const us = (v: number) => (Number.isFinite(v) ? `${Math.round(v)} µs` : '?');
    const singleWhy = (): string => {
      const perCall = (s: System) => 1e6 / get(s, 'single');
      const ours = cpuOf('Celeriac');
      const bull = cpuOf('BullMQ');
      const split = (wall: number, cpu: { producer: number; redis: number }) =>
        `${us(wall)} a call: producer CPU ${us(cpu.producer)}, Redis CPU ${us(cpu.redis)}, waiting ${us(wall - cpu.producer - cpu.redis)}`;
      return (
        `each call is one awaited round trip for both; Celeriac ${split(perCall('Celeriac'), ours)}; ` +
        `BullMQ ${split(perCall('BullMQ'), bull)}. "Producer, one \`enqueue\` at a time" in "Hot spots" splits the producer CPU (the socket write each call makes counts as "native")`
      );
    };
    for (const c of CASES) {
      const v = table.get(`Celeriac/${c}`);
      if (v != null) ctx.shared.set(`enqueue/${c}`, v);
    }
    return {
      id: this.id,
      title: this.title,
      method,
      tables: [
        {
          columns: [
            'case',
            'Celeriac (tasks/s)',
            'BullMQ',
            'bee-queue',
            'Celery',
            '÷ BullMQ',
            '÷ bee-queue',
            '÷ Celery',
          ],
          rows,
        },
      ],
      charts: [
        { kind: 'bar', title: 'Enqueue throughput (tasks/s, higher is better)', unit: 'tasks/s', bars },
      ],
      targets: [
        target(
          'Redis bulk enqueue ≥ 2× BullMQ addBulk (batches of 1000)',
          get('Celeriac', 'bulk 1000'),
          get('BullMQ', 'bulk 1000'),
          2,
          'see the producer profiles in "Hot spots"',
        ),
        target(
          'Redis bulk enqueue ≥ 2× BullMQ addBulk (batches of 50)',
          get('Celeriac', 'bulk 50'),
          get('BullMQ', 'bulk 50'),
          2,
          'see the producer profiles in "Hot spots"',
        ),
        target(
          'Single enqueue ≥ 1.5× BullMQ add',
          get('Celeriac', 'single'),
          get('BullMQ', 'single'),
          1.5,
          singleWhy(),
        ),
      ],
      notes: rec.notes,
      numbers: rec.numbers,
      skipped: rec.skipped,
    };
  },
};

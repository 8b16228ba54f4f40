import { createClient } from '@celeriac/core/producer';
import { noop, openBroker } from '../celeriac.js';
import { uniqueName } from '../config.js';
import { deleteMatching } from '../redis-tools.js';
import { Recorder, type Scenario, type ScenarioContext, timed } from '../scenario-kit.js';
import { formatRatio, median, ratio } from '../stats.js';
import type { Bar, Cell } from '../types.js';

const PIPELINE = 1000;

/** The bytes one of our tasks takes on a Redis list: enqueue one, read it back. Falls back to 700. */
async function messageSize(ctx: ScenarioContext): Promise<number> {
  const queue = uniqueName(ctx.config, 'ceiling', 'sample');
  try {
    const broker = await openBroker(ctx.config.redisUrl);
    const client = createClient({ broker, defaultQueue: queue });
    await client.enqueue(noop, { i: 1 }).finally(() => client.close());
    // kombu's layout: the step-0 list of a queue is named after the queue.
    const item = await ctx.redis.lindex(queue, 0);
    if (item) return Buffer.byteLength(item);
  } catch {
    // The adapter is not usable: the ceiling still runs with a typical size.
  } finally {
    await deleteMatching(ctx.redis, `*${queue}*`);
  }
  return 700;
}

/** Pipelined LPUSH of `count` items, then pipelined RPOP of all of them; rates in ops/s. */
async function pushPop(
  ctx: ScenarioContext,
  key: string,
  payload: string,
  count: number,
): Promise<{ push: number; pop: number }> {
  const { redis } = ctx;
  const pushMs = await timed(async () => {
    for (let i = 0; i < count; i += PIPELINE) {
      const p = redis.pipeline();
      for (let k = i; k < Math.min(count, i + PIPELINE); k++) p.lpush(key, payload);
      await p.exec();
    }
  });
  let popped = 0;
  const popMs = await timed(async () => {
    for (let i = 0; i < count; i += PIPELINE) {
      const p = redis.pipeline();
      for (let k = i; k < Math.min(count, i + PIPELINE); k++) p.rpop(key);
      const res = await p.exec();
      popped += res?.filter(([, v]) => v !== null).length ?? 0;
    }
  });
  await redis.unlink(key);
  if (popped !== count) throw new Error(`popped ${popped} of ${count}`);
  return { push: (count * 1000) / pushMs, pop: (count * 1000) / popMs };
}

/** Scenario 6: the raw Redis list rate on this machine, in the same run, against our rates. */
export const redisCeilingScenario: Scenario = {
  id: 'redis-ceiling',
  title: '6. The ceiling on Redis: raw pipelined LPUSH / RPOP',
  async run(ctx) {
    const rec = new Recorder(ctx.log);
    const { sizes } = ctx.config;
    const size = await messageSize(ctx);
    const method =
      `ioredis, pipelines of ${PIPELINE}: ${sizes.ceiling.toLocaleString('en-US')} LPUSH of a ${size}-byte string (the size of one of our ` +
      `encoded tasks on its list), then as many RPOP. Median of 3. This is what one client can move through Redis lists here with no ` +
      `queue semantics at all (no reliable fetch, no acks, no results): our bulk enqueue is compared with LPUSH, our worker ` +
      `(1 process, c=100, results stored; from scenario 2 of this run) with RPOP.`;
    const runs: { push: number; pop: number }[] = [];
    for (let r = 0; r < 3; r++) {
      const res = await rec.attempt(`LPUSH/RPOP run ${r + 1}`, () =>
        pushPop(ctx, uniqueName(ctx.config, 'ceiling', String(r)), 'x'.repeat(size), sizes.ceiling),
      );
      if (res) runs.push(res);
    }
    const push = runs.length ? rec.keep(median(runs.map((r) => r.push))) : null;
    const pop = runs.length ? rec.keep(median(runs.map((r) => r.pop))) : null;
    const bulk = ctx.shared.get('enqueue/bulk 1000') ?? null;
    const drain = ctx.shared.get('drain/100/1') ?? null;
    const rows: Cell[][] = [
      [
        'enqueue',
        'LPUSH (pipelined)',
        push,
        'enqueueMany, batches of 1000',
        bulk,
        formatRatio(ratio(bulk, push)),
      ],
      [
        'consume',
        'RPOP (pipelined)',
        pop,
        'worker, 1 process, c=100, results stored',
        drain,
        formatRatio(ratio(drain, pop)),
      ],
    ];
    const bars: Bar[] = [];
    if (push !== null) bars.push({ group: 'enqueue', series: 'raw LPUSH', value: push });
    if (bulk !== null) bars.push({ group: 'enqueue', series: 'Celeriac', value: bulk });
    if (pop !== null) bars.push({ group: 'consume', series: 'raw RPOP', value: pop });
    if (drain !== null) bars.push({ group: 'consume', series: 'Celeriac', value: drain });
    return {
      id: this.id,
      title: this.title,
      method,
      tables: [
        {
          columns: ['', 'raw', 'raw (ops/s)', 'Celeriac', 'Celeriac (tasks/s)', 'share of the ceiling'],
          rows,
        },
      ],
      charts: [
        {
          kind: 'bar',
          title: 'Raw Redis list ceiling vs Celeriac (per second, higher is better)',
          unit: 'per second',
          bars,
        },
      ],
      targets: [],
      notes: rec.notes,
      numbers: rec.numbers,
      skipped: rec.skipped,
    };
  },
};

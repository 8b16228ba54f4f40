import { probeBroker } from '../celeriac.js';
import type { ChildSpec } from '../child/protocol.js';
import { runWorkerGroup } from '../child/spawn-workers.js';
import { uniqueName } from '../config.js';
import { prefillCeleriac } from '../prefill.js';
import { Recorder, type Scenario, type ScenarioContext } from '../scenario-kit.js';
import { formatRatio, median, ratio, windowRate } from '../stats.js';
import type { Bar, Cell, TargetCheck } from '../types.js';
import { WARMUP_SHARE } from './drain.js';
import { cleanKafka, kafkaUrl, prefillRawKafka } from './kafka-raw.js';
import { cleanRabbit, prefillRawRabbit } from './rabbit-raw.js';

const CONCURRENCY = 100;
/** The extra work of the `eachBatchParse` row. */
const PARSE_NOTE = 'JSON.parse of each record (envelope header and body)';

/** Drains a pre-filled queue with one worker process; the rate over the measured window. */
async function drainRate(spec: ChildSpec, count: number): Promise<number> {
  const r = await runWorkerGroup({ spec, processes: 1, expected: count, timeoutMs: 120_000 + count * 5 });
  if (r.count < count)
    throw new Error(
      `only ${r.count} of ${count} messages completed${r.errors[0] ? ` (${r.errors[0]})` : ''}`,
    );
  return windowRate(r.times, Math.ceil(count * WARMUP_SHARE)).rate;
}

/**
 * Runs `round(i)` for i = 0..rounds-1, each measuring our worker and its ceiling back to back, and
 * reports each measurement's median: the machine's speed drifts, and alternating keeps a slow
 * stretch from landing on one side only.
 */
async function medianOfRounds(
  rounds: number,
  round: (i: number) => Promise<Map<string, number>>,
): Promise<Map<string, number>> {
  const all = new Map<string, number[]>();
  for (let i = 0; i < rounds; i++) {
    for (const [key, v] of await round(i)) all.set(key, [...(all.get(key) ?? []), v]);
  }
  return new Map([...all].map(([key, values]) => [key, median(values)]));
}

async function rabbit(ctx: ScenarioContext, rec: Recorder): Promise<Map<string, number>> {
  const { config } = ctx;
  const n = config.sizes.rabbitmq;
  const rounds = config.sizes.ratioRounds;
  const probeQueue = uniqueName(config, 'amqp', 'probe');
  const queues = [probeQueue];
  try {
    const probe = await probeBroker(config.amqpUrl, probeQueue);
    if (probe) {
      rec.skipped.push(`RabbitMQ: ${probe}`);
      return new Map();
    }
    return await medianOfRounds(rounds, async (i) => {
      const out = new Map<string, number>();
      const suffix = rounds > 1 ? ` (round ${i + 1} of ${rounds})` : '';
      const ours = uniqueName(config, 'amqp', 'ours', String(i));
      const raw = uniqueName(config, 'amqp', 'raw', String(i));
      queues.push(ours, raw);
      const v = await rec.attempt(`RabbitMQ: Celeriac worker${suffix}`, async () => {
        await prefillCeleriac(config.amqpUrl, ours, n);
        await prefillRawRabbit(config.amqpUrl, ours, raw, n);
        return drainRate(
          {
            system: 'celeriac',
            brokerUrl: config.amqpUrl,
            backendUrl: null,
            queue: ours,
            concurrency: CONCURRENCY,
          },
          n,
        );
      });
      if (v !== null) out.set('ours', rec.keep(v));
      const c = await rec.attempt(`RabbitMQ: raw amqplib consume+ack${suffix}`, () =>
        drainRate({ system: 'amqplib', amqpUrl: config.amqpUrl, queue: raw, prefetch: CONCURRENCY }, n),
      );
      if (c !== null) out.set('raw', rec.keep(c));
      return out;
    });
  } finally {
    await cleanRabbit(config.amqpUrl, queues).catch(() => {});
  }
}

async function kafka(ctx: ScenarioContext, rec: Recorder): Promise<Map<string, number>> {
  const { config } = ctx;
  const n = config.sizes.kafka;
  const rounds = config.sizes.ratioRounds;
  const partitions = config.sizes.kafkaPartitions;
  const url = kafkaUrl(config.kafkaBrokers, partitions);
  const probe = await probeBroker(url, uniqueName(config, 'probe'));
  try {
    return await medianOfRounds(rounds, async (i) => {
      const out = new Map<string, number>();
      const suffix = rounds > 1 ? ` (round ${i + 1} of ${rounds})` : '';
      const ours = uniqueName(config, 'kafka', 'ours', String(i));
      const raw = uniqueName(config, 'kafka', 'raw', String(i));
      if (probe) {
        if (i === 0) rec.skipped.push(`Kafka: Celeriac worker: ${probe}`);
      } else {
        const v = await rec.attempt(`Kafka: Celeriac worker${suffix}`, async () => {
          await prefillCeleriac(url, ours, n);
          return drainRate(
            { system: 'celeriac', brokerUrl: url, backendUrl: null, queue: ours, concurrency: CONCURRENCY },
            n,
          );
        });
        if (v !== null) out.set('ours', rec.keep(v));
      }
      const sample = probe ? null : ours;
      for (const mode of ['eachMessage', 'eachBatch', 'eachBatchParse'] as const) {
        const topic = `${raw}-${mode}`;
        const c = await rec.attempt(`Kafka: raw kafkajs ${mode}${suffix}`, async () => {
          await prefillRawKafka(config.kafkaBrokers, sample, topic, partitions, n);
          return drainRate(
            { system: 'kafkajs', brokers: config.kafkaBrokers, topic, groupId: `${topic}-group`, mode },
            n,
          );
        });
        if (c !== null) out.set(mode, rec.keep(c));
      }
      return out;
    });
  } finally {
    await cleanKafka(config.kafkaBrokers, config.runId).catch(() => {});
  }
}

/** Scenario 5: our worker on RabbitMQ and Kafka against the raw client's consume loop (the ceiling). */
export const brokersScenario: Scenario = {
  id: 'brokers',
  title: '5. RabbitMQ and Kafka: worker vs the raw client ceiling',
  async run(ctx) {
    const rec = new Recorder(ctx.log);
    const { sizes } = ctx.config;
    const method =
      `One worker process drains a pre-filled queue of ${sizes.rabbitmq.toLocaleString('en-US')} (RabbitMQ) / ${sizes.kafka.toLocaleString('en-US')} (Kafka) ` +
      `no-op tasks with concurrency ${CONCURRENCY} and no result backend, so only the broker path is measured. The ceiling is the raw client in ` +
      `the same kind of process doing nothing but consume and acknowledge the same messages (byte for byte copies of ours where they could be ` +
      `read back): amqplib \`consume\` + \`ack\` at prefetch ${CONCURRENCY} on a durable classic queue; kafkajs \`eachMessage\` and \`eachBatch\` ` +
      `(offsets committed by kafkajs) on a topic with the same ${sizes.kafkaPartitions} partitions. A third Kafka row adds to eachBatch only the ` +
      `parsing of the JSON that every Celery message carries (our envelope header and the body), to show what that alone costs; it is not the ceiling. ` +
      `Rates over the window from the ` +
      `${Math.round(WARMUP_SHARE * 100)}% mark (so Kafka's group join is not counted). ` +
      (sizes.ratioRounds > 1
        ? `Each measurement is the median of ${sizes.ratioRounds} rounds; a round runs our worker and then its ceilings back to back, on fresh queues.`
        : 'One round.');
    const rmq = await rabbit(ctx, rec);
    const kfk = await kafka(ctx, rec);
    const kafkaCeiling = Math.max(kfk.get('eachMessage') ?? Number.NaN, kfk.get('eachBatch') ?? Number.NaN);
    const ceilingOf = (m: Map<string, number>, key: string) => m.get(key) ?? null;
    const rows: Cell[][] = [
      [
        'RabbitMQ',
        rmq.get('ours') ?? null,
        'amqplib consume+ack',
        ceilingOf(rmq, 'raw'),
        formatRatio(ratio(rmq.get('ours'), rmq.get('raw'))),
      ],
      [
        'Kafka',
        kfk.get('ours') ?? null,
        'kafkajs eachMessage',
        ceilingOf(kfk, 'eachMessage'),
        formatRatio(ratio(kfk.get('ours'), kfk.get('eachMessage'))),
      ],
      [
        'Kafka',
        kfk.get('ours') ?? null,
        'kafkajs eachBatch',
        ceilingOf(kfk, 'eachBatch'),
        formatRatio(ratio(kfk.get('ours'), kfk.get('eachBatch'))),
      ],
      [
        'Kafka',
        kfk.get('ours') ?? null,
        `kafkajs eachBatch + ${PARSE_NOTE}`,
        ceilingOf(kfk, 'eachBatchParse'),
        formatRatio(ratio(kfk.get('ours'), kfk.get('eachBatchParse'))),
      ],
    ];
    const bars: Bar[] = [];
    const add = (group: string, series: string, v: number | undefined) => {
      if (v !== undefined) bars.push({ group, series, value: v });
    };
    add('RabbitMQ', 'Celeriac', rmq.get('ours'));
    add('RabbitMQ', 'raw client', rmq.get('raw'));
    add('Kafka', 'Celeriac', kfk.get('ours'));
    add('Kafka', 'raw client', Number.isFinite(kafkaCeiling) ? kafkaCeiling : undefined);
    const percent = (ours: number | undefined, ceiling: number | undefined) =>
      `${Math.round(ratio(ours, ceiling) * 100)}%`;
    const share = (ours: number | undefined, ceiling: number | undefined) =>
      `${percent(ours, ceiling)} (${Math.round(ours ?? 0).toLocaleString('en-US')} vs ${Math.round(ceiling ?? 0).toLocaleString('en-US')} msg/s)`;
    const target = (
      name: string,
      ours: number | undefined,
      ceiling: number | undefined,
      why = '',
    ): TargetCheck => {
      const r = ratio(ours, ceiling);
      const held = Number.isFinite(r) ? r >= 0.7 : null;
      return {
        name,
        held,
        detail: Number.isFinite(r)
          ? `${share(ours, ceiling)}${held === false ? why : ''}`
          : 'not measured in this run',
      };
    };
    // The ceiling reads no message. The same client doing only the JSON parsing every Celery
    // message needs shows how much of the gap is that parsing alone.
    const parsed = kfk.get('eachBatchParse');
    const kafkaWhy = `${
      parsed === undefined
        ? ''
        : `; the raw client that also does ${PARSE_NOTE} reaches ${Math.round(parsed).toLocaleString('en-US')} msg/s, and Celeriac is ${percent(kfk.get('ours'), parsed)} of that`
    }; see "Worker process (Kafka, concurrency 100, no result backend)" in "Hot spots"`;
    return {
      id: this.id,
      title: this.title,
      method,
      tables: [
        {
          columns: [
            'broker',
            'Celeriac worker (tasks/s)',
            'ceiling',
            'ceiling (msg/s)',
            'Celeriac ÷ ceiling',
          ],
          rows,
        },
      ],
      charts: [
        {
          kind: 'bar',
          title: 'Worker vs raw client (messages/s, higher is better)',
          unit: 'messages/s',
          bars,
        },
      ],
      targets: [
        target(
          'RabbitMQ worker ≥ 70% of raw amqplib consume+ack',
          rmq.get('ours'),
          rmq.get('raw'),
          '; see "Worker process (RabbitMQ, concurrency 100, no result backend)" in "Hot spots"',
        ),
        target(
          'Kafka worker ≥ 70% of raw kafkajs consume (the faster of eachMessage/eachBatch)',
          kfk.get('ours'),
          Number.isFinite(kafkaCeiling) ? kafkaCeiling : undefined,
          kafkaWhy,
        ),
      ],
      notes: rec.notes,
      numbers: rec.numbers,
      skipped: rec.skipped,
    };
  },
};

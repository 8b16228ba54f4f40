import { randomBytes } from 'node:crypto';

/** Sizes of one mode (quick: seconds, for CI smoke runs; full: the published numbers). */
export interface Sizes {
  /** Scenario 1: tasks per single-enqueue measurement, and per bulk measurement. */
  readonly enqueueSingle: number;
  readonly enqueueBulk: number;
  /** Celery's Python producer is slow; it gets its own count. */
  readonly enqueueCelery: number;
  /** Repeats per enqueue measurement; the median is reported. */
  readonly enqueueRepeats: number;
  /** Scenario 2: tasks drained at concurrency 1 and 100, per worker process count. */
  readonly drainC1: number;
  readonly drainC100: number;
  readonly drainCeleryC1: number;
  readonly drainCeleryC100: number;
  /** Scenario 3: seconds of offered load per rate (plus one warm-up second excluded from stats). */
  readonly latencySeconds: number;
  readonly latencyRates: readonly number[];
  /** Scenario 4: the backlog drained by four processes, then the stream through one worker. */
  readonly backlog: number;
  readonly stream: number;
  /** Scenario 5: messages per RabbitMQ / Kafka measurement. */
  readonly rabbitmq: number;
  readonly kafka: number;
  readonly kafkaPartitions: number;
  /** Scenario 6: raw LPUSH/RPOP operations. */
  readonly ceiling: number;
  /**
   * Alternating rounds behind the worker ratios a target is set on (scenario 2 at c=100, Celeriac and
   * BullMQ; scenario 5); the median round is reported. The machine's speed drifts within minutes.
   */
  readonly ratioRounds: number;
}

const QUICK: Sizes = {
  enqueueSingle: 1_000,
  enqueueBulk: 5_000,
  enqueueCelery: 300,
  enqueueRepeats: 1,
  drainC1: 500,
  drainC100: 3_000,
  drainCeleryC1: 100,
  drainCeleryC100: 500,
  latencySeconds: 1,
  latencyRates: [1_000, 5_000, 10_000],
  backlog: 5_000,
  stream: 20_000,
  rabbitmq: 3_000,
  kafka: 3_000,
  kafkaPartitions: 4,
  ceiling: 20_000,
  ratioRounds: 1,
};

const FULL: Sizes = {
  enqueueSingle: 10_000,
  enqueueBulk: 100_000,
  enqueueCelery: 3_000,
  enqueueRepeats: 3,
  drainC1: 5_000,
  drainC100: 50_000,
  drainCeleryC1: 1_000,
  drainCeleryC100: 8_000,
  latencySeconds: 5,
  latencyRates: [1_000, 5_000, 10_000],
  backlog: 100_000,
  stream: 1_000_000,
  rabbitmq: 50_000,
  kafka: 50_000,
  kafkaPartitions: 4,
  ceiling: 500_000,
  ratioRounds: 3,
};

/** Everything a scenario needs to know about this run. */
export interface BenchConfig {
  readonly mode: 'quick' | 'full';
  readonly sizes: Sizes;
  /** Short random id in every queue, topic and key this run creates, so runs never collide. */
  readonly runId: string;
  readonly redisUrl: string;
  /** Result backend URL: the same Redis, results kept ten minutes so leftovers expire by themselves. */
  readonly backendUrl: string;
  readonly amqpUrl: string;
  readonly kafkaBrokers: string;
  /** Python of the Celery virtualenv, or '' when it is not installed. */
  readonly celeryPython: string;
}

/** Reads the services' addresses from the environment (as `scripts/services env` prints them). */
export function loadConfig(mode: 'quick' | 'full', env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const redisUrl = env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
  return {
    mode,
    sizes: mode === 'quick' ? QUICK : FULL,
    runId: randomBytes(4).toString('hex'),
    redisUrl,
    backendUrl: `${redisUrl}${redisUrl.includes('?') ? '&' : '?'}ttlMs=600000`,
    amqpUrl: env.CELERIAC_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    kafkaBrokers: env.CELERIAC_KAFKA_BROKERS ?? '127.0.0.1:9092',
    celeryPython: env.CELERIAC_CELERY_PYTHON ?? '',
  };
}

/** A queue/topic name unique to this run: `bench-<run>-<parts>`. */
export function uniqueName(config: BenchConfig, ...parts: string[]): string {
  return ['bench', config.runId, ...parts].join('-').replace(/[^A-Za-z0-9_.-]/g, '_');
}

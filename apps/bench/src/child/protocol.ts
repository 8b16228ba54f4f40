import type { BenchConfig } from '../config.js';

/** What a worker child runs: one system's worker (or a raw client) on one queue. */
export type ChildSpec =
  | {
      readonly system: 'celeriac';
      readonly brokerUrl: string;
      /** `null`: no result backend (results dropped), to measure the broker path alone. */
      readonly backendUrl: string | null;
      readonly queue: string;
      readonly concurrency: number;
    }
  | {
      readonly system: 'bullmq';
      readonly redisUrl: string;
      readonly queue: string;
      readonly concurrency: number;
    }
  | {
      readonly system: 'bee-queue';
      readonly redisUrl: string;
      readonly queue: string;
      readonly concurrency: number;
    }
  | {
      readonly system: 'amqplib';
      readonly amqpUrl: string;
      readonly queue: string;
      readonly prefetch: number;
    }
  | {
      readonly system: 'kafkajs';
      readonly brokers: string;
      readonly topic: string;
      readonly groupId: string;
      /** `eachBatchParse`: eachBatch, plus `JSON.parse` of each record's JSON headers and value. */
      readonly mode: 'eachMessage' | 'eachBatch' | 'eachBatchParse';
    };

/** Options of one child besides what it runs. */
export interface ChildOptions {
  readonly spec: ChildSpec;
  /** Keep every completion timestamp (for exact windows); off for very long runs. */
  readonly recordTimes: boolean;
  /** How often to sample RSS and report progress. */
  readonly sampleMs: number;
}

/** One memory sample of a child. */
export interface RssSample {
  /** Epoch ms. */
  readonly at: number;
  readonly rss: number;
  readonly heapUsed: number;
  /** Tasks completed by this child when sampled. */
  readonly count: number;
}

/** Messages from a child to the parent. */
export type ChildMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly count: number; readonly failed: number; readonly rss: number }
  | {
      readonly type: 'done';
      readonly count: number;
      readonly failed: number;
      readonly times: number[];
      readonly firstAt: number;
      readonly lastAt: number;
      readonly samples: RssSample[];
      readonly errors: string[];
      /** CPU time (user + system) this process used from the start signal to the stop signal, ms. */
      readonly cpuMs: number;
    }
  | { readonly type: 'fatal'; readonly error: string };

/** Messages from the parent to a child. */
export type ParentMessage = { readonly type: 'start' } | { readonly type: 'stop' };

/** The environment variable that carries a child's {@link ChildOptions} as JSON. */
export const CHILD_ENV = 'CELERIAC_BENCH_CHILD';

/**
 * A worker process of one Redis system on `queue`, results stored (Celeriac: the Redis result
 * backend): the spec most scenarios run.
 */
export function redisWorkerSpec(
  config: BenchConfig,
  system: 'Celeriac' | 'BullMQ' | 'bee-queue',
  queue: string,
  concurrency: number,
): ChildSpec {
  const { redisUrl } = config;
  if (system === 'Celeriac')
    return { system: 'celeriac', brokerUrl: redisUrl, backendUrl: config.backendUrl, queue, concurrency };
  if (system === 'BullMQ') return { system: 'bullmq', redisUrl, queue, concurrency };
  return { system: 'bee-queue', redisUrl, queue, concurrency };
}

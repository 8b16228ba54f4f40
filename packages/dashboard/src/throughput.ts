/** One point of the throughput and latency charts. */
export interface ThroughputPoint {
  /** Start of the bucket, ms since the epoch. */
  readonly at: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Run time percentiles of the bucket's finished tasks, in seconds (null when none finished). */
  readonly p50: number | null;
  readonly p95: number | null;
}

interface Bucket {
  at: number;
  succeeded: number;
  failed: number;
  runtimes: number[];
  seen: number;
}

/** Run times kept per bucket for the percentiles: a uniform sample beyond this. */
const SAMPLES_PER_BUCKET = 500;

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? null;
}

/**
 * Finished tasks per time bucket (by arrival here), with run-time percentiles, over a sliding
 * window: the data of the throughput and latency charts.
 */
export class Throughput {
  private readonly buckets: Bucket[] = [];

  constructor(
    readonly bucketMs = 5_000,
    readonly keep = 60,
  ) {}

  private bucket(now: number): Bucket {
    const at = now - (now % this.bucketMs);
    let last = this.buckets.at(-1);
    if (!last || last.at !== at) {
      last = { at, succeeded: 0, failed: 0, runtimes: [], seen: 0 };
      this.buckets.push(last);
      if (this.buckets.length > this.keep) this.buckets.splice(0, this.buckets.length - this.keep);
    }
    return last;
  }

  /** Counts a finished task; `runtime` in seconds when the event carried it. */
  record(outcome: 'succeeded' | 'failed', runtime: number | null, now: number): void {
    const b = this.bucket(now);
    b[outcome]++;
    if (runtime === null || !Number.isFinite(runtime)) return;
    b.seen++;
    if (b.runtimes.length < SAMPLES_PER_BUCKET) b.runtimes.push(runtime);
    else {
      // Reservoir sampling keeps every run time equally likely to be in the sample.
      const slot = Math.floor(Math.random() * b.seen);
      if (slot < SAMPLES_PER_BUCKET) b.runtimes[slot] = runtime;
    }
  }

  /** The window's points, oldest first, with empty buckets filled in up to `now`. */
  points(now: number): ThroughputPoint[] {
    const end = now - (now % this.bucketMs);
    const start = end - (this.keep - 1) * this.bucketMs;
    const byStart = new Map(this.buckets.map((b) => [b.at, b]));
    const out: ThroughputPoint[] = [];
    for (let at = start; at <= end; at += this.bucketMs) {
      const b = byStart.get(at);
      const sorted = b ? [...b.runtimes].sort((x, y) => x - y) : [];
      out.push({
        at,
        succeeded: b?.succeeded ?? 0,
        failed: b?.failed ?? 0,
        p50: percentile(sorted, 0.5),
        p95: percentile(sorted, 0.95),
      });
    }
    return out;
  }
}

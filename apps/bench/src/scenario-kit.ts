import type { Redis } from 'ioredis';
import { describeError } from './celeriac.js';
import type { BenchConfig } from './config.js';
import type { ScenarioResult } from './types.js';

/** What every scenario gets. */
export interface ScenarioContext {
  readonly config: BenchConfig;
  /** An admin connection for measurements (INFO, LLEN) and clean-up. */
  readonly redis: Redis;
  readonly log: (line: string) => void;
  /** Numbers one scenario leaves for a later one (e.g. our rates, compared with the Redis ceiling). */
  readonly shared: Map<string, number>;
}

/** A benchmark scenario: runs its measurements and describes them for the report. */
export interface Scenario {
  readonly id: string;
  readonly title: string;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}

/**
 * Collects what a scenario measured: numbers for the smoke check, measurements that could not run
 * (with the reason), and notes.
 */
export class Recorder {
  readonly numbers: number[] = [];
  readonly skipped: string[] = [];
  readonly notes: string[] = [];

  constructor(private readonly log: (line: string) => void) {}

  /** Records a measured number and returns it. */
  keep(value: number): number {
    this.numbers.push(value);
    return value;
  }

  /** Runs one measurement; on failure records "label: reason" and resolves to `null`. */
  async attempt<T>(label: string, fn: () => Promise<T>): Promise<T | null> {
    this.log(`  ${label} …`);
    try {
      return await fn();
    } catch (error) {
      const reason = describeError(error);
      this.log(`  ${label}: not run: ${reason}`);
      this.skipped.push(`${label}: ${reason}`);
      return null;
    }
  }
}

/** The result of a scenario that could not run at all. */
export function notRun(id: string, title: string, method: string, reason: string): ScenarioResult {
  return {
    id,
    title,
    method,
    notRun: reason,
    tables: [],
    charts: [],
    targets: [],
    notes: [],
    numbers: [],
    skipped: [],
  };
}

/** Times an async function in milliseconds (performance.now, measured window only). */
export async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** `quick` runs in the default test run; `long` on demand (`CELERIAC_CHAOS=long`, `scripts/chaos`). */
export type ChaosMode = 'quick' | 'long';

/** Sizes of one chaos run on one broker. */
export interface ChaosConfig {
  readonly mode: ChaosMode;
  /** Tasks submitted for each scenario (four scenarios: quick 4 × 500 = 2,000; long 4 × 25,000). */
  readonly tasksPerScenario: number;
  /** Each task sleeps a random time in this range (ms), so faults strike while work is running. */
  readonly taskMs: readonly [number, number];
  readonly workers: number;
  readonly concurrency: number;
  /** Workers killed with SIGKILL (one at a time, each replaced) in the kill -9 scenario. */
  readonly kills: number;
  /** Broker restarts, pauses and mass SIGTERMs in their scenarios. */
  readonly repeats: number;
  /** Longest a scenario may take to bring every task to a final state. */
  readonly settleTimeoutMs: number;
}

export const chaosMode: ChaosMode = process.env.CELERIAC_CHAOS === 'long' ? 'long' : 'quick';

export const chaosConfig: ChaosConfig =
  chaosMode === 'long'
    ? {
        mode: 'long',
        tasksPerScenario: 25_000,
        taskMs: [1, 20],
        workers: 3,
        concurrency: 20,
        kills: 12,
        repeats: 3,
        settleTimeoutMs: 1_800_000,
      }
    : {
        mode: 'quick',
        tasksPerScenario: 500,
        taskMs: [40, 160],
        workers: 3,
        concurrency: 8,
        kills: 3,
        repeats: 1,
        settleTimeoutMs: 120_000,
      };

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChaosConfig } from './chaos-config.js';
import { repoRoot } from './target.js';

/** The scenarios every broker goes through, in order. */
export type ScenarioName = 'kill-9' | 'broker-restart' | 'broker-pause' | 'mass-sigterm';

/** One fault: when it struck and when it was over (ms since the epoch). */
export interface FaultWindow {
  readonly start: number;
  readonly end: number;
}

/** What one scenario measured. */
export interface ScenarioResult {
  readonly scenario: ScenarioName;
  /** What was done, in words. */
  readonly fault: string;
  readonly faults: number;
  readonly submitted: number;
  /** Tasks whose final state is SUCCESS with the task's own result. */
  readonly completed: number;
  /** Tasks with any other final state (or a result not theirs). */
  readonly failed: number;
  /** Handler runs that finished beyond the first, over all tasks (at-least-once shows here). */
  readonly duplicates: number;
  /** Tasks whose handler finished more than once. */
  readonly duplicatedTasks: number;
  /** Handler runs started beyond the first (a killed run started again counts here). */
  readonly reruns: number;
  /** Tasks with no final state when the scenario gave up waiting. */
  readonly lost: number;
  /** Messages of the queue still unacknowledged or waiting once every task had its final state. */
  readonly stuck: number;
  /** Worst time from the end of a fault until the work it interrupted was done (see RELIABILITY.md). */
  readonly recoveryMs: number | null;
  /** Longest time in the scenario without any task reaching its final state. */
  readonly longestStallMs: number;
  readonly durationMs: number;
}

/** The dead-letter check of a run. */
export interface DeadLetterCheck {
  /** Reason codes of the planted poison. */
  readonly planted: readonly string[];
  /** What the dead-letter place held at the end: reason code, and whether it is planted poison. */
  readonly found: readonly { readonly code: string; readonly planted: boolean }[];
  /** The final state stored for the planted unknown task (FAILURE expected). */
  readonly unknownTaskState: string | null;
}

/** Everything one broker's chaos run measured. */
export interface BrokerResult {
  readonly broker: string;
  readonly mode: ChaosConfig['mode'];
  readonly startedAt: string;
  /** CPUs, Node, and the 1-minute load average when the run began (other work on the machine shows here). */
  readonly machine: { readonly cpus: number; readonly node: string; readonly load?: number };
  readonly config: ChaosConfig;
  readonly restartHow: string;
  readonly scenarios: readonly ScenarioResult[];
  readonly deadLetters: DeadLetterCheck;
  /** Workers started, killed with SIGKILL and stopped with SIGTERM over the run. */
  readonly workers: { readonly started: number; readonly killed: number; readonly terminated: number };
  /** Unacknowledged or waiting messages after the last worker stopped. */
  readonly stuckAtEnd: number;
}

/** Where a mode's results go: one JSON file per broker (ignored by git; RELIABILITY.md is rendered from them). */
export function resultsDir(mode: ChaosConfig['mode']): string {
  return join(repoRoot, 'test/chaos/results', mode);
}

export function writeResult(result: BrokerResult): string {
  const dir = resultsDir(result.mode);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${result.broker}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

import { runningAt, type TaskTrace } from './completion-log.js';
import type { FinalState } from './final-states.js';
import type { FaultWindow, ScenarioName, ScenarioResult } from './results.js';

/** The tasks of one scenario and what happened to them. */
export interface ScenarioRecord {
  readonly scenario: ScenarioName;
  readonly fault: string;
  /** Task id → the `n` it was given (its SUCCESS result must be that `n`). */
  readonly tasks: ReadonlyMap<string, number>;
  readonly windows: readonly FaultWindow[];
  readonly startedAt: number;
  readonly endedAt: number;
  readonly stuck: number;
}

/**
 * Recovery from one fault: from its end until every task that was running when it struck has its
 * final state and tasks reach their final state again (the first one not interrupted by it).
 */
function recoveryOf(
  w: FaultWindow,
  ids: readonly string[],
  traces: Map<string, TaskTrace>,
  finals: ReadonlyMap<string, FinalState>,
): number | null {
  const interrupted = new Set(runningAt(traces, ids, w.start));
  let done = w.end;
  for (const id of interrupted) {
    const at = finals.get(id)?.at;
    if (at === undefined) return null;
    done = Math.max(done, at);
  }
  let resumed = Number.POSITIVE_INFINITY;
  for (const id of ids) {
    const at = finals.get(id)?.at;
    if (at !== undefined && at >= w.end && !interrupted.has(id)) resumed = Math.min(resumed, at);
  }
  // Nothing left to resume (the batch ended with the fault): the interrupted work decides.
  if (resumed !== Number.POSITIVE_INFINITY) done = Math.max(done, resumed);
  return Math.max(0, done - w.end);
}

/** Turns a scenario's record, the handlers' log and the final states into its result row. */
export function measure(
  record: ScenarioRecord,
  traces: Map<string, TaskTrace>,
  finals: ReadonlyMap<string, FinalState>,
): ScenarioResult {
  const ids = [...record.tasks.keys()];
  let completed = 0;
  let failed = 0;
  let duplicates = 0;
  let duplicatedTasks = 0;
  let reruns = 0;
  for (const [id, n] of record.tasks) {
    const final = finals.get(id);
    if (final?.status === 'SUCCESS' && final.result === n) completed++;
    else if (final) failed++;
    const trace = traces.get(id);
    if (trace) {
      duplicates += Math.max(0, trace.completions.length - 1);
      if (trace.completions.length > 1) duplicatedTasks++;
      reruns += Math.max(0, trace.starts.length - 1);
    }
  }
  const recoveries = record.windows.map((w) => recoveryOf(w, ids, traces, finals));
  const times = [record.startedAt, ...ids.flatMap((id) => finals.get(id)?.at ?? []), record.endedAt].sort(
    (a, b) => a - b,
  );
  let longestStallMs = 0;
  for (let i = 1; i < times.length; i++)
    longestStallMs = Math.max(longestStallMs, (times[i] ?? 0) - (times[i - 1] ?? 0));
  return {
    scenario: record.scenario,
    fault: record.fault,
    faults: record.windows.length,
    submitted: ids.length,
    completed,
    failed,
    duplicates,
    duplicatedTasks,
    reruns,
    lost: ids.length - completed - failed,
    stuck: record.stuck,
    // Work that never finished has not recovered.
    recoveryMs:
      completed + failed < ids.length || recoveries.some((r) => r === null)
        ? null
        : Math.max(0, ...(recoveries as number[])),
    longestStallMs,
    durationMs: record.endedAt - record.startedAt,
  };
}

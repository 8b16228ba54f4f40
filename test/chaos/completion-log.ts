import { readFileSync } from 'node:fs';

/** What the workers' handlers recorded for one task. */
export interface TaskTrace {
  /** Start times (ms), one per run of the handler. */
  readonly starts: number[];
  /** Completion times (ms); more than one is a duplicate run that finished. */
  readonly completions: number[];
  /** Worker pids that started it. */
  readonly pids: number[];
}

/**
 * Reads the log the chaos workers append to (`S|C <task id> <pid> <ms>` per line). A line torn by a
 * kill -9 (no trailing newline) is ignored.
 */
export function readCompletionLog(path: string): Map<string, TaskTrace> {
  const traces = new Map<string, TaskTrace>();
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return traces;
  }
  const lines = text.split('\n');
  lines.pop(); // the part after the last newline is incomplete (or empty)
  for (const line of lines) {
    const [kind, id, pid, at] = line.split(' ');
    if (!id || (kind !== 'S' && kind !== 'C')) continue;
    let trace = traces.get(id);
    if (!trace) {
      trace = { starts: [], completions: [], pids: [] };
      traces.set(id, trace);
    }
    if (kind === 'S') {
      trace.starts.push(Number(at));
      trace.pids.push(Number(pid));
    } else {
      trace.completions.push(Number(at));
    }
  }
  return traces;
}

/** Tasks of `ids` that were running at `at`: started before it, not completed before it. */
export function runningAt(traces: Map<string, TaskTrace>, ids: Iterable<string>, at: number): string[] {
  const running: string[] = [];
  for (const id of ids) {
    const t = traces.get(id);
    if (!t) continue;
    const started = t.starts.filter((s) => s <= at).length;
    const completed = t.completions.filter((c) => c <= at).length;
    if (started > completed) running.push(id);
  }
  return running;
}

import type { ResultMode } from '../prefill.js';
import type { DrainResult } from './drain.js';

/** One drain configuration of scenario 2. */
export interface DrainCase {
  readonly concurrency: 1 | 100;
  readonly processes: 1 | 4;
  readonly results: ResultMode;
}

/** "c=100, 4 processes, results not kept" and the like. */
export function caseLabel(c: DrainCase): string {
  return `c=${c.concurrency}, ${c.processes} process${c.processes > 1 ? 'es' : ''}, results ${c.results === 'kept' ? 'stored' : 'not kept'}`;
}

/** The section of "Hot spots" that profiles a worker in this case's shape. */
export function profileFor(c: DrainCase): string {
  if (c.concurrency === 1)
    return c.results === 'kept'
      ? '"Worker process (Redis, concurrency 1, results stored)"'
      : '"Worker process (Redis, concurrency 1, results stored)" (the same path, plus storing each result)';
  return c.results === 'kept'
    ? '"Worker process (Redis, concurrency 100, results stored)"'
    : '"Worker process (Redis, concurrency 100, results not kept)"';
}

const us = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? '?' : `${Math.round(v)} µs`);

/**
 * Where a task's time goes when Celeriac misses a ratio against BullMQ: Redis commands per task,
 * CPU per task in the worker processes and in Redis, and, at concurrency 1 (where a task's wall
 * time is its round trips), how much of that wall time neither of them was busy.
 */
export function whyMissed(c: DrainCase, ours: DrainResult, bull: DrainResult): string {
  const parts: string[] = [];
  if (ours.commands && bull.commands)
    parts.push(
      `Celeriac sent ${ours.commands.total.toFixed(1)} Redis commands per task vs BullMQ's ${bull.commands.total.toFixed(1)}`,
    );
  const a = ours.cpu;
  const b = bull.cpu;
  if (a && b)
    parts.push(
      `CPU per task, worker / Redis: Celeriac ${us(a.workerUsPerTask)} / ${us(a.redisUsPerTask)}, ` +
        `BullMQ ${us(b.workerUsPerTask)} / ${us(b.redisUsPerTask)}; ` +
        `each Celeriac worker process used ${a.workerCoreShare == null ? '?' : Math.round(a.workerCoreShare * 100)}% of one core (all its threads)`,
    );
  if (c.concurrency === 1 && a && b) {
    // One task at a time: wall time per task is CPU (worker, Redis) plus waiting on the loopback
    // and the scheduler; the rest is that wait.
    const waitOf = (r: DrainResult) =>
      1e6 / r.rate - (r.cpu?.workerUsPerTask ?? Number.NaN) - (r.cpu?.redisUsPerTask ?? Number.NaN);
    parts.push(
      `one task at a time takes ${us(1e6 / ours.rate)} (BullMQ ${us(1e6 / bull.rate)}), of which neither the worker nor Redis ` +
        `was busy for ${us(waitOf(ours))} (BullMQ ${us(waitOf(bull))}): round trips on the loopback and waits for a core on a shared machine`,
    );
  }
  parts.push(`see ${profileFor(c)} in "Hot spots"`);
  return parts.join('; ');
}

import { describe, expect, it } from 'vitest';
import type { DrainResult } from '../src/scenarios/drain.js';
import { caseLabel, whyMissed } from '../src/scenarios/drain-why.js';

function result(rate: number, workerUs: number, redisUs: number, commands: number): DrainResult {
  return {
    rate,
    count: 1000,
    totalMs: 1000,
    peakRss: 1,
    failed: 0,
    commands: { total: commands, top: [] },
    cpu: { workerUsPerTask: workerUs, redisUsPerTask: redisUs, workerCoreShare: 0.5 },
  };
}

describe('why a worker ratio was missed', () => {
  it('at concurrency 1, splits a task’s wall time into worker CPU, Redis CPU and waiting', () => {
    const c = { concurrency: 1, processes: 1, results: 'dropped' } as const;
    // 2,000 tasks/s: 500 µs a task, of which 120 + 30 busy, so 350 µs waiting.
    const text = whyMissed(c, result(2000, 120, 30, 9), result(2500, 100, 60, 23));
    expect(text).toContain('Celeriac sent 9.0 Redis commands per task vs BullMQ');
    expect(text).toContain('one task at a time takes 500 µs (BullMQ 400 µs)');
    expect(text).toContain('busy for 350 µs (BullMQ 240 µs)');
    expect(text).toContain('"Worker process (Redis, concurrency 1, results stored)" (the same path');
    expect(caseLabel(c)).toBe('c=1, 1 process, results not kept');
  });

  it('at concurrency 100, points at the profile of the same shape, without the wait split', () => {
    const c = { concurrency: 100, processes: 4, results: 'dropped' } as const;
    const text = whyMissed(c, result(10_000, 80, 20, 8), result(6_000, 150, 90, 23));
    expect(text).not.toContain('one task at a time');
    expect(text).toContain('"Worker process (Redis, concurrency 100, results not kept)"');
    expect(caseLabel(c)).toBe('c=100, 4 processes, results not kept');
  });
});

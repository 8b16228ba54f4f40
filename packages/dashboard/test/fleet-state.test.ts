import type { CeleryEvent } from '@celeriac/core/worker';
import { describe, expect, it } from 'vitest';
import { FleetState } from '../src/fleet-state.js';

const base = (
  type: string,
  hostname: string,
  at: number,
  fields: Record<string, unknown> = {},
): CeleryEvent => ({
  type,
  hostname,
  timestamp: at / 1000,
  utcoffset: 0,
  pid: 1,
  clock: 1,
  ...fields,
});

describe('the fleet as the events tell it', () => {
  it('tracks a worker from its heartbeats and shows it offline once they stop', () => {
    const fleet = new FleetState();
    const t0 = 1_000_000;
    fleet.apply(
      base('worker-heartbeat', 'w1@h', t0, {
        freq: 2,
        active: 3,
        processed: 10,
        concurrency: 8,
        loadavg: [0.5, 0.4, 0.3],
      }),
      t0,
    );
    expect(fleet.snapshot(t0 + 1_000).workers).toEqual([
      expect.objectContaining({ hostname: 'w1@h', alive: true, active: 3, processed: 10, concurrency: 8 }),
    ]);
    // Three missed intervals: offline; a worker-offline event: offline at once.
    expect(fleet.snapshot(t0 + 6_001).workers[0]?.alive).toBe(false);
    fleet.apply(base('worker-offline', 'w1@h', t0 + 2_000), t0 + 2_000);
    expect(fleet.snapshot(t0 + 2_001).workers[0]?.alive).toBe(false);
  });

  it('builds a task’s timeline, outcome and counts, and finds it by id, name and state', () => {
    const taken: string[] = [];
    const fleet = new FleetState({ onTaken: (q) => taken.push(q) });
    const t0 = 2_000_000;
    fleet.apply(
      base('task-received', 'w1@h', t0, {
        uuid: 'abc-1',
        name: 'app.add',
        queue: 'q1',
        args: '()',
        kwargs: '{"x":1}',
      }),
      t0,
    );
    fleet.apply(base('task-started', 'w1@h', t0 + 10, { uuid: 'abc-1' }), t0 + 10);
    // Arrives after the success although it was sent before it: the state stays SUCCESS.
    fleet.apply(
      base('task-succeeded', 'w1@h', t0 + 50, { uuid: 'abc-1', result: '3', runtime: 0.04 }),
      t0 + 50,
    );
    fleet.apply(base('task-started', 'w1@h', t0 + 20, { uuid: 'abc-1' }), t0 + 60);
    fleet.apply(
      base('task-failed', 'w2@h', t0 + 70, {
        uuid: 'def-2',
        exception: 'Error("x")',
        traceback: 'Traceback…',
      }),
      t0 + 70,
    );

    const task = fleet.task('abc-1');
    expect(task).toMatchObject({
      name: 'app.add',
      state: 'SUCCESS',
      queue: 'q1',
      kwargs: '{"x":1}',
      result: '3',
      runtime: 0.04,
    });
    expect(task?.timeline.map((t) => t.state)).toEqual(['RECEIVED', 'STARTED', 'SUCCESS', 'STARTED']);
    expect(fleet.task('def-2')).toMatchObject({ state: 'FAILURE', traceback: 'Traceback…' });
    expect(taken).toEqual(['q1']);
    expect(fleet.search({ q: 'abc' }).map((t) => t.uuid)).toEqual(['abc-1']);
    expect(fleet.search({ q: 'ADD' }).map((t) => t.uuid)).toEqual(['abc-1']);
    expect(fleet.search({ state: 'FAILURE' }).map((t) => t.uuid)).toEqual(['def-2']);
    const snapshot = fleet.snapshot(t0 + 100);
    expect(snapshot.states).toEqual({ SUCCESS: 1, FAILURE: 1 });
    expect(snapshot.workers.map((w) => [w.hostname, w.succeeded, w.failed])).toEqual([
      ['w1@h', 1, 0],
      ['w2@h', 0, 1],
    ]);
    const points = snapshot.throughput.filter((p) => p.succeeded || p.failed);
    expect(points).toEqual([expect.objectContaining({ succeeded: 1, failed: 1, p50: 0.04 })]);
  });

  it('keeps memory bounded: the least recently updated tasks go first', () => {
    const fleet = new FleetState({ maxTasks: 3 });
    for (const id of ['a', 'b', 'c'])
      fleet.apply(base('task-received', 'w@h', 1, { uuid: id, name: 't' }), 1);
    fleet.apply(base('task-started', 'w@h', 2, { uuid: 'a' }), 2);
    fleet.apply(base('task-received', 'w@h', 3, { uuid: 'd', name: 't' }), 3);
    expect(['a', 'b', 'c', 'd'].map((id) => fleet.task(id) !== undefined)).toEqual([true, false, true, true]);
  });
});

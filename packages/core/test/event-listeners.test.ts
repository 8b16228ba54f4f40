import { describe, expect, it } from 'vitest';
import { EventListeners } from '../src/adapter/index.js';
import type { CeleryEvent } from '../src/worker/index.js';

const event = (type: string, clock: number): CeleryEvent => ({
  type,
  hostname: 'w@host',
  timestamp: 1,
  utcoffset: 0,
  pid: 1,
  clock,
});

describe('EventListeners', () => {
  it('starts listening once, however many subscribe, and says it started', async () => {
    let starts = 0;
    const listeners = new EventListeners(async () => {
      starts += 1;
    });
    expect(listeners.started).toBe(false);
    await Promise.all([listeners.subscribe(() => {}), listeners.subscribe(() => {})]);
    await listeners.subscribe(() => {});
    expect(starts).toBe(1);
    expect(listeners.started).toBe(true);
  });

  it('a failed start rejects the subscribe, keeps its listener out, and the next subscribe starts again', async () => {
    let starts = 0;
    const listeners = new EventListeners(async () => {
      starts += 1;
      if (starts === 1) throw new Error('broker down');
    });
    const first: CeleryEvent[] = [];
    await expect(listeners.subscribe((e) => first.push(e))).rejects.toThrow('broker down');
    expect(listeners.started).toBe(false);
    const second: CeleryEvent[] = [];
    await listeners.subscribe((e) => second.push(e));
    expect(starts).toBe(2);
    listeners.deliverJson(JSON.stringify(event('worker-heartbeat', 1)));
    expect(first).toEqual([]);
    expect(second.map((e) => e.clock)).toEqual([1]);
  });

  it('hands a batch to every listener event by event, and skips what is not events', async () => {
    const listeners = new EventListeners(async () => {});
    const a: number[] = [];
    const b: number[] = [];
    await listeners.subscribe((e) => a.push(e.clock));
    await listeners.subscribe((e) => b.push(e.clock));
    listeners.deliverJson(
      JSON.stringify([event('task-received', 1), { no: 'type' }, event('task-started', 2)]),
    );
    listeners.deliverJson('{not json');
    listeners.deliverJson(JSON.stringify('a string'));
    listeners.deliverJson(JSON.stringify(event('task-succeeded', 3)));
    expect(a).toEqual([1, 2, 3]);
    expect(b).toEqual([1, 2, 3]);
  });

  it('a throwing listener does not stop the others', async () => {
    const listeners = new EventListeners(async () => {});
    const seen: string[] = [];
    await listeners.subscribe(() => {
      throw new Error('listener bug');
    });
    await listeners.subscribe((e) => seen.push(e.type));
    listeners.deliver([event('worker-online', 1), event('worker-offline', 2)]);
    expect(seen).toEqual(['worker-online', 'worker-offline']);
  });

  it('a removed listener, and every listener after clear, hears nothing more', async () => {
    const listeners = new EventListeners(async () => {});
    const kept: number[] = [];
    const dropped: number[] = [];
    await listeners.subscribe((e) => kept.push(e.clock));
    const stop = await listeners.subscribe((e) => dropped.push(e.clock));
    listeners.deliver([event('task-sent', 1)]);
    stop();
    listeners.deliver([event('task-sent', 2)]);
    listeners.clear();
    listeners.deliver([event('task-sent', 3)]);
    expect(kept).toEqual([1, 2]);
    expect(dropped).toEqual([1]);
  });
});

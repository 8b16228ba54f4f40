import { defineTask, type MemoryResultBackend, NonRetriableError, RetryAfterError } from '@celeriac/core';
import { implement, type TaskImplementation } from '@celeriac/core/worker';
import { z } from 'zod';

/** Contracts the runtime suite uses; the queue is set per test. */
export function runtimeContracts(queue: string) {
  return {
    add: defineTask({
      name: 'testkit.add',
      input: z.object({ x: z.number(), y: z.number() }),
      output: z.number(),
      defaults: { queue },
    }),
    flaky: defineTask({
      name: 'testkit.flaky',
      input: z.object({
        failTimes: z.number(),
        mode: z.enum(['plain', 'non-retriable', 'retry-after']).default('plain'),
      }),
      output: z.object({ attempt: z.number() }),
      defaults: { queue, retry: { max: 3, initialDelayMs: 50, jitter: false } },
    }),
    total: defineTask({
      name: 'testkit.total',
      input: z.array(z.number()),
      output: z.number(),
      defaults: { queue },
    }),
    sleep: defineTask({
      name: 'testkit.sleep',
      input: z.object({ ms: z.number(), honourAbort: z.boolean().default(true) }),
      output: z.number(),
      defaults: { queue },
    }),
  };
}

/** Observations the handlers record, keyed by task id. */
export interface RuntimeProbe {
  readonly calls: Map<string, number>;
  running: number;
  maxRunning: number;
  readonly started: string[];
}

/** Implementations of {@link runtimeContracts} that record into a probe. */
export function runtimeImplementations(
  c: ReturnType<typeof runtimeContracts>,
  probe: RuntimeProbe,
): TaskImplementation[] {
  const track = (id: string) => {
    probe.calls.set(id, (probe.calls.get(id) ?? 0) + 1);
    probe.started.push(id);
  };
  return [
    implement(c.add, ({ x, y }, ctx) => {
      track(ctx.id);
      return x + y;
    }),
    implement(c.total, (values, ctx) => {
      track(ctx.id);
      return values.reduce((a, b) => a + b, 0);
    }),
    implement(c.flaky, ({ failTimes, mode }, ctx) => {
      track(ctx.id);
      if (ctx.attempt <= failTimes) {
        if (mode === 'non-retriable') throw new NonRetriableError(`refused on attempt ${ctx.attempt}`);
        if (mode === 'retry-after') throw new RetryAfterError(`busy on attempt ${ctx.attempt}`, 300);
        throw new Error(`flaky failure on attempt ${ctx.attempt}`);
      }
      return { attempt: ctx.attempt };
    }),
    implement(c.sleep, async ({ ms, honourAbort }, ctx) => {
      track(ctx.id);
      probe.running++;
      probe.maxRunning = Math.max(probe.maxRunning, probe.running);
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, ms);
          if (honourAbort) {
            ctx.signal.addEventListener('abort', () => {
              clearTimeout(timer);
              reject(ctx.signal.reason);
            });
          }
        });
        return ms;
      } finally {
        probe.running--;
      }
    }),
  ];
}

/** A fresh probe. */
export function newProbe(): RuntimeProbe {
  return { calls: new Map(), running: 0, maxRunning: 0, started: [] };
}

/** The backend the runtime suite uses, so only the broker varies. */
export type RuntimeBackend = MemoryResultBackend;

import { type AnyTaskContract, defineTask } from '@celeriac/core';
import { z } from 'zod';

/** `demo.add {x, y} → x + y` */
export const add = defineTask({
  name: 'demo.add',
  input: z.object({ x: z.number(), y: z.number() }),
  output: z.number(),
  defaults: { retry: { max: 3 }, timeoutMs: 30_000 },
});

/** `demo.echo {value} → value` */
export const echo = defineTask({
  name: 'demo.echo',
  input: z.object({ value: z.unknown() }),
  output: z.unknown(),
});

/** `demo.sleep {ms} → ms`; stops early when aborted (time limit, shutdown). */
export const sleep = defineTask({
  name: 'demo.sleep',
  input: z.object({ ms: z.number().int().nonnegative() }),
  output: z.number(),
});

/** `demo.fail {message, retriable?}`: throws an error with that message; retried only if `retriable`. */
export const fail = defineTask({
  name: 'demo.fail',
  input: z.object({ message: z.string(), retriable: z.boolean().optional() }),
  output: z.never(),
  defaults: { retry: { max: 2, initialDelayMs: 100 } },
});

/** Every demo contract by task name, for tools that look contracts up by name. */
export const demoContracts: ReadonlyMap<string, AnyTaskContract> = new Map<string, AnyTaskContract>(
  [add, echo, sleep, fail].map((c) => [c.name, c]),
);

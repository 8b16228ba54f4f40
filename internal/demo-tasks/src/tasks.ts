import { NonRetriableError } from '@celeriac/core';
import { implement, type TaskImplementation } from '@celeriac/core/worker';
import { add, echo, fail, sleep } from './index.js';

/** Implementations of the demo contracts: `celeriac-worker --tasks @celeriac/demo-tasks/tasks`. */
export const demoTasks: readonly TaskImplementation[] = [
  implement(add, ({ x, y }) => x + y),
  implement(echo, ({ value }) => value),
  implement(
    sleep,
    ({ ms }, ctx) =>
      new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => resolve(ms), ms);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(ctx.signal.reason);
        });
      }),
  ),
  implement(fail, ({ message, retriable }) => {
    throw retriable ? new Error(message) : new NonRetriableError(message);
  }),
];

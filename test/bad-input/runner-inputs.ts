import { defineTask, type ResultMeta, type TaskMessage } from '@celeriac/core';
import { createTaskMessage } from '@celeriac/core/adapter';
import { implement, type TaskImplementation, type WorkerLimits } from '@celeriac/core/worker';
import type { BadInput, SendContext, Sent } from './inputs.js';

/**
 * The worker runner's part of the bad-input table: outcomes that cannot be stored, messages asking
 * more than the worker allows, undecodable messages that still name their task id.
 */

const anything = {
  '~standard': { version: 1, vendor: 'bad-input', validate: (value: unknown) => ({ value }) },
} as const;
const pair = {
  '~standard': {
    version: 1,
    vendor: 'bad-input',
    validate: (value: unknown) => ({ value }),
  },
  // Two keys, so a positional call maps onto them.
  shape: { a: null, b: null },
} as const;

/** Limits of the bad-input worker: small, so the inputs that cross them stay small. */
export const RUNNER_LIMITS: WorkerLimits = { maxRetries: 3, maxResultBytes: 1024 * 1024 };

/** Handler runs per task id, for the notes. */
const runs = new Map<string, number>();
const ran = (id: string) => runs.set(id, (runs.get(id) ?? 0) + 1);

/** What a handler of the runner's tasks does, by name. */
const behaviours: Record<string, () => unknown> = {
  circular: () => {
    const value: Record<string, unknown> = {};
    value.self = value;
    return value;
  },
  'to-json': () => ({
    toJSON() {
      throw new Error('no JSON for this value');
    },
  }),
  'over-limit': () => 'x'.repeat(2 * 1024 * 1024),
  bigint: () => 2n ** 64n,
  fails: () => {
    throw new Error('fails every time');
  },
  'loud-error': () => {
    throw new Error('e'.repeat(20 * 1024 * 1024));
  },
  nap: () => new Promise((resolve) => setTimeout(() => resolve('rested'), 20)),
  fine: () => 'fine',
};

const contracts = Object.keys(behaviours).map((name) =>
  defineTask({ name: `bad-input.runner.${name}`, input: anything, output: anything }),
);
const pairTask = defineTask({ name: 'bad-input.runner.pair', input: pair, output: anything });

/** The tasks the bad-input worker runs besides `echo`. */
export const RUNNER_TASKS: TaskImplementation[] = [
  ...contracts.map((contract) =>
    implement(contract, (_input, ctx) => {
      ran(ctx.id);
      return (behaviours[contract.name.slice('bad-input.runner.'.length)] as () => unknown)();
    }),
  ),
  implement(pairTask, (input) => input),
];

async function publish(ctx: SendContext, message: TaskMessage): Promise<Sent> {
  await ctx.broker.publish({ queue: ctx.queue, message });
  return { id: message.headers.id };
}

const call = (name: string, init: Partial<Parameters<typeof createTaskMessage>[0]> = {}) =>
  createTaskMessage({ task: `bad-input.runner.${name}`, kwargs: {}, ...init });

const timesRun = (meta: ResultMeta | null) => `handler ran ${runs.get(meta?.task_id ?? '') ?? 0}×`;

/** A foreign message with a task id, in a content type the worker refuses. */
function foreign(contentType: string, body: string, base64 = false): BadInput['send'] {
  return async (ctx) => {
    const id = `${ctx.marker}-id`;
    await ctx.target.injectForeign?.(ctx.queue, {
      headers: { id, task: 'bad-input.runner.fine', lang: 'py' },
      contentType,
      body,
      base64,
    });
    return { id };
  };
}
const noForeign = (ctx: SendContext) =>
  ctx.target.injectForeign ? undefined : 'the memory envelope carries no content type';

/** The runner's inputs, in report order. */
export const RUNNER_INPUTS: readonly BadInput[] = [
  {
    key: 'pickle-with-id',
    description: 'a pickle body (`application/x-python-serialize`) with a task id',
    skip: noForeign,
    send: foreign(
      'application/x-python-serialize',
      Buffer.from('\u0080\u0004K\u0001.').toString('base64'),
      true,
    ),
  },
  {
    key: 'yaml-with-id',
    description: 'a YAML body (`application/x-yaml`) with a task id',
    skip: noForeign,
    send: foreign('application/x-yaml', '- [1, 2]\n- {}\n'),
  },
  {
    key: 'not-base64-with-id',
    description: 'a body said to be base64 that is not, with a task id',
    skip: (ctx) =>
      noForeign(ctx) ??
      (ctx.target.name === 'rabbitmq' ? 'AMQP bodies are raw bytes, never base64' : undefined),
    send: foreign('application/json', '%%% not base64 at all %%%', true),
  },
  {
    key: 'circular-result',
    description: 'a task that returns a circular object',
    note: timesRun,
    send: (ctx) => publish(ctx, call('circular')),
  },
  {
    key: 'throwing-to-json',
    description: 'a task whose result’s `toJSON` throws',
    note: timesRun,
    send: (ctx) => publish(ctx, call('to-json')),
  },
  {
    key: 'result-over-limit',
    description: 'a 2 MiB result, over the worker’s `limits.maxResultBytes` (1 MiB)',
    note: timesRun,
    send: (ctx) => publish(ctx, call('over-limit')),
  },
  {
    key: 'bigint-result',
    description: 'a BigInt result beyond 2^53',
    note: timesRun,
    send: (ctx) => publish(ctx, call('bigint')),
  },
  {
    key: 'bad-callback',
    description: 'a callback in the embed that is not a signature',
    note: timesRun,
    send: (ctx) => publish(ctx, call('fine', { embed: { callbacks: [{ task: 42, args: 'x' } as never] } })),
  },
  {
    key: 'retry-flood',
    description: 'an `x-celeriac-retry` header asking 1,000,000 retries at 0 ms (worker `maxRetries` 3)',
    note: timesRun,
    send: (ctx) =>
      publish(ctx, call('fails', { headers: { 'x-celeriac-retry': { max: 1e6, initialDelayMs: 0 } } })),
  },
  {
    key: 'huge-time-limit',
    description: 'a hard time limit of 2^32 ms (past Node’s longest timer)',
    send: (ctx) => publish(ctx, call('nap', { timeLimitMs: 2 ** 32, softTimeLimitMs: 2 ** 33 })),
  },
  {
    key: 'extra-positional-args',
    description: 'three positional args for a task that takes two',
    send: (ctx) => publish(ctx, createTaskMessage({ task: 'bad-input.runner.pair', args: [1, 2, 3] })),
  },
  {
    key: 'huge-error-message',
    description: 'a task that throws a 20 MiB error message',
    note: (meta) => {
      const [text] = ((meta?.result as { exc_message?: unknown[] } | undefined)?.exc_message ??
        []) as string[];
      return `message stored: ${Math.round(String(text ?? '').length / 1024)} Ki characters, traceback ${Math.round((meta?.traceback?.length ?? 0) / 1024)} Ki`;
    },
    send: (ctx) => publish(ctx, call('loud-error')),
  },
];

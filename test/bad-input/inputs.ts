import { type Broker, defineTask, type ResultMeta, type TaskMessage } from '@celeriac/core';
import { createTaskMessage } from '@celeriac/core/adapter';
import { RUNNER_INPUTS } from './runner-inputs.js';
import type { BadInputTarget } from './targets.js';

/** A schema that wants `{ text: string }` and lets anything else through, without a schema library. */
const textInput = {
  '~standard': {
    version: 1,
    vendor: 'bad-input',
    validate: (value: unknown) =>
      typeof value === 'object' && value !== null && typeof (value as { text?: unknown }).text === 'string'
        ? { value: value as { text: string } }
        : { issues: [{ message: 'text must be a string', path: ['text'] }] },
  },
} as const;
const anyOutput = {
  '~standard': { version: 1, vendor: 'bad-input', validate: (value: unknown) => ({ value }) },
} as const;

/** The one task the bad-input worker implements: it returns the length of its text. */
export const echo = defineTask({ name: 'bad-input.echo', input: textInput, output: anyOutput });

/** What a bad input needs to reach the broker. */
export interface SendContext {
  readonly target: BadInputTarget;
  readonly broker: Broker;
  readonly queue: string;
  /** A unique token put into raw inputs, to find their dead letters. */
  readonly marker: string;
}

/** What was sent: the task id a final state may be stored under, or the marker of raw bytes. */
export interface Sent {
  readonly id?: string;
  readonly marker?: string;
  /** Bytes sent, to tell a truncated dead letter. */
  readonly size?: number;
}

/** One bad input. `send` throws when the broker refuses it; `skip` says why it does not apply. */
export interface BadInput {
  readonly key: string;
  readonly description: string;
  skip?(ctx: SendContext): string | undefined;
  send(ctx: SendContext): Promise<Sent>;
  /** A word for the report from the final state stored (e.g. how often the handler ran). */
  note?(meta: ResultMeta | null): string | undefined;
}

function nested(depth: number): unknown {
  return JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);
}

async function publish(ctx: SendContext, message: TaskMessage, queue = ctx.queue): Promise<Sent> {
  await ctx.broker.publish({ queue, message });
  return { id: message.headers.id };
}

async function inject(ctx: SendContext, raw: string): Promise<Sent> {
  await ctx.target.injectRaw(ctx.queue, raw);
  return { marker: ctx.marker, size: Buffer.byteLength(raw) };
}

const echoMessage = (kwargs: Record<string, unknown>, headers?: Record<string, unknown>) =>
  createTaskMessage({ task: echo.name, kwargs, headers });

/** Every bad input, in report order. */
export const BAD_INPUTS: readonly BadInput[] = [
  {
    key: 'not-json',
    description: 'bytes that are not JSON',
    send: (ctx) => inject(ctx, `\u0000\u0001 not a message ${ctx.marker}`),
  },
  {
    key: 'json-not-message',
    description: 'JSON that is not a task message',
    send: (ctx) => inject(ctx, JSON.stringify({ hello: ctx.marker })),
  },
  {
    key: 'large-undecodable',
    description: 'undecodable bytes of 900 KiB',
    send: (ctx) => inject(ctx, `${ctx.marker} ${'x'.repeat(900 * 1024)}`),
  },
  {
    key: 'unknown-task',
    description: 'a task name no worker implements',
    send: (ctx) => publish(ctx, createTaskMessage({ task: 'bad-input.nobody' })),
  },
  {
    key: 'id-without-task',
    description: 'a task id but no task name',
    send: (ctx) => {
      const message = echoMessage({ text: 'x' });
      delete (message.headers as unknown as Record<string, unknown>).task;
      return publish(ctx, message);
    },
  },
  {
    key: 'body-not-triple',
    description: 'a body that is not `[args, kwargs, embed]`',
    send: (ctx) => {
      const message = echoMessage({ text: 'x' });
      (message as unknown as { body: unknown }).body = { not: 'a triple' };
      return publish(ctx, message);
    },
  },
  {
    key: 'invalid-input',
    description: 'input the task’s schema refuses',
    send: (ctx) => publish(ctx, echoMessage({ text: 42 })),
  },
  {
    key: 'repr-cut-emoji',
    description: 'input 1012 × `a` + 😀, its `kwargsrepr` cut through the emoji (as older producers did)',
    send: (ctx) => {
      const text = `${'a'.repeat(1012)}😀`;
      const message = echoMessage({ text });
      message.headers.kwargsrepr = `${JSON.stringify({ text }).slice(0, -3)}...`;
      return publish(ctx, message);
    },
  },
  {
    key: 'lone-surrogate-header',
    description: 'a header holding a lone UTF-16 surrogate',
    send: (ctx) => publish(ctx, echoMessage({ text: 'x' }, { 'x-note': 'half an emoji: \ud83d' })),
  },
  {
    key: 'deep-nesting-header',
    description: 'a header nested 1,200 levels deep',
    send: (ctx) => publish(ctx, echoMessage({ text: 'x' }, { 'x-deep': nested(1200) })),
  },
  {
    key: 'deep-nesting-input',
    description: 'input nested 1,200 levels deep',
    send: (ctx) => publish(ctx, echoMessage({ text: 'x', deep: nested(1200) })),
  },
  {
    key: 'proto-key',
    description: 'a `__proto__` key in the input',
    send: (ctx) => publish(ctx, echoMessage(JSON.parse('{"text":"x","__proto__":{"polluted":true}}'))),
  },
  {
    key: 'reserved-queue',
    description: 'a queue name that collides with the broker’s own',
    skip: (ctx) => (ctx.target.reservedQueue ? undefined : 'every queue name is accepted'),
    send: (ctx) => publish(ctx, echoMessage({ text: 'x' }), ctx.target.reservedQueue?.name),
  },
  {
    key: 'over-size',
    description: 'a message 1 KiB over the size limit the broker declares',
    skip: (ctx) => {
      const limit = ctx.broker.capabilities.maxMessageBytes;
      return limit > 32 * 1024 * 1024 ? `limit ${limit / 1024 / 1024} MiB, not tried` : undefined;
    },
    send: (ctx) =>
      publish(ctx, echoMessage({ text: 'x'.repeat(ctx.broker.capabilities.maxMessageBytes + 1024) })),
  },
  ...RUNNER_INPUTS,
];

import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { NonRetriableError, RemoteTaskError, RetryAfterError } from '../src/errors.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import { type ClientInterceptor, createClient, signature } from '../src/producer/index.js';
import { createWorker, implement, type Worker, type WorkerInterceptor } from '../src/worker/index.js';
import { RecordingBroker } from './recording-broker.js';

const add = defineTask({
  name: 'icpt.add',
  input: z.object({ x: z.number(), y: z.number() }),
  output: z.number(),
  defaults: { queue: 'icpt' },
});
const addImpl = implement(add, ({ x, y }) => x + y);
const header = defineTask({
  name: 'icpt.header',
  input: z.object({ name: z.string() }),
  output: z.unknown(),
  defaults: { queue: 'icpt' },
});
const headerImpl = implement(header, ({ name }, ctx) => ctx.headers[name] ?? null);

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 100 })));
});

async function started(options: Parameters<typeof createWorker>[0]): Promise<Worker> {
  const worker = createWorker(options);
  workers.push(worker);
  await worker.start();
  return worker;
}

/** Records the order interceptors are entered and left in, under `name`. */
function tracing(name: string, log: string[]): WorkerInterceptor & ClientInterceptor {
  return {
    execute(input, ctx, next) {
      log.push(`${name}>${ctx.name}`);
      const out = next(input);
      log.push(`${name}<`);
      return out;
    },
    async publish(message, next) {
      log.push(`${name}>${message.message.headers.task}`);
      await next(message);
      log.push(`${name}<`);
    },
  };
}

describe('worker execute interceptors', () => {
  it('wrap the handler in list order, the first one outermost', async () => {
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const log: string[] = [];
    const handler = implement(add, ({ x, y }) => {
      log.push('handler');
      return x + y;
    });
    await started({
      broker,
      backend,
      tasks: [handler],
      interceptors: [tracing('a', log), tracing('b', log)],
    });
    const handle = await createClient({ broker, backend }).enqueue(add, { x: 1, y: 2 });
    expect(await handle.result({ timeoutMs: 5_000 })).toBe(3);
    expect(log).toEqual(['a>icpt.add', 'b>icpt.add', 'handler', 'b<', 'a<']);
  });

  it('may change the input and the output, and the output is still validated', async () => {
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const doubling: WorkerInterceptor = {
      async execute(input, _ctx, next) {
        const { x, y } = input as { x: number; y: number };
        const out = (await next({ x: x * 2, y })) as number;
        return out === 0 ? 'not a number' : out + 100;
      },
    };
    await started({ broker, backend, tasks: [addImpl], interceptors: [doubling] });
    const client = createClient({ broker, backend });
    expect(await (await client.enqueue(add, { x: 5, y: 1 })).result({ timeoutMs: 5_000 })).toBe(111);
    const invalid = await client.enqueue(add, { x: 0, y: 0 });
    await expect(invalid.result({ timeoutMs: 5_000 })).rejects.toThrow(/ValidationError.*invalid output/);
  });

  it('fails the task with what an interceptor throws, without calling the handler', async () => {
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    let calls = 0;
    const counted = implement(add, ({ x, y }) => {
      calls++;
      return x + y;
    });
    const refusing: WorkerInterceptor = {
      execute(input, ctx, next) {
        if (ctx.headers['x-tenant'] === 'blocked') throw new NonRetriableError('tenant blocked');
        return next(input);
      },
    };
    const worker = await started({ broker, backend, tasks: [counted], interceptors: [refusing] });
    const client = createClient({ broker, backend });
    const blocked = await client.enqueue(
      add,
      { x: 1, y: 1 },
      { headers: { 'x-tenant': 'blocked' }, retry: { max: 3 } },
    );
    const error = await blocked.result({ timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteTaskError);
    expect((error as RemoteTaskError).remote).toMatchObject({
      excType: 'NonRetriableError',
      excMessage: 'tenant blocked',
    });
    expect(calls).toBe(0);
    expect(await (await client.enqueue(add, { x: 1, y: 1 })).result({ timeoutMs: 5_000 })).toBe(2);
    expect(calls).toBe(1);
    // The result is visible once stored; the worker counts the task after its ack.
    await vi.waitFor(() => expect(worker.stats()).toMatchObject({ failed: 1, retried: 0, succeeded: 1 }));
  });

  it('see a retry request as a thrown error, and the retry happens', async () => {
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const flaky = implement(add, ({ x, y }, ctx) => {
      if (ctx.attempt === 1) throw new RetryAfterError('busy', 0);
      return x + y;
    });
    const seen: unknown[] = [];
    const watching: WorkerInterceptor = {
      async execute(input, ctx, next) {
        try {
          return await next(input);
        } catch (error) {
          seen.push({ attempt: ctx.attempt, code: (error as RetryAfterError).code });
          throw error;
        }
      },
    };
    await started({ broker, backend, tasks: [flaky], interceptors: [watching] });
    const handle = await createClient({ broker, backend }).enqueue(
      add,
      { x: 2, y: 2 },
      { retry: { max: 1 } },
    );
    expect(await handle.result({ timeoutMs: 5_000 })).toBe(4);
    expect(seen).toEqual([{ attempt: 1, code: 'RETRY_AFTER' }]);
  });
});

describe('client publish interceptors', () => {
  it('add a header that the worker sees in ctx.headers, for interceptors and handlers alike', async () => {
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const inject: ClientInterceptor = {
      publish(out, next) {
        out.message.headers.traceparent = traceparent;
        return next(out);
      },
    };
    const seenByInterceptor: unknown[] = [];
    const extract: WorkerInterceptor = {
      execute(input, ctx, next) {
        seenByInterceptor.push(ctx.headers.traceparent);
        return next(input);
      },
    };
    await started({ broker, backend, tasks: [headerImpl], interceptors: [extract] });
    const client = createClient({ broker, backend, interceptors: [inject] });
    const handle = await client.enqueue(header, { name: 'traceparent' });
    expect(await handle.result({ timeoutMs: 5_000 })).toBe(traceparent);
    expect(seenByInterceptor).toEqual([traceparent]);
  });

  it('wrap enqueue, enqueueMany, send and the canvas calls, the first one outermost', async () => {
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const log: string[] = [];
    const client = createClient({ broker, backend, interceptors: [tracing('a', log), tracing('b', log)] });
    await client.enqueue(add, { x: 1, y: 1 });
    expect(log).toEqual(['a>icpt.add', 'b>icpt.add', 'b<', 'a<']);
    log.length = 0;
    await client.enqueueMany(add, [
      { x: 1, y: 1 },
      { x: 2, y: 2 },
    ]);
    await client.send('py.task');
    await client.chain([signature(add, { x: 1, y: 1 }), signature(add, { y: 1 })]);
    await client.group([signature(add, { x: 1, y: 1 })]);
    await client.chord([signature(add, { x: 1, y: 1 })], signature(header, { name: 'x' }));
    const entered = log.filter((l) => l.startsWith('a>'));
    expect(entered).toEqual([
      'a>icpt.add',
      'a>icpt.add',
      'a>py.task',
      'a>icpt.add',
      'a>icpt.add',
      'a>icpt.add',
    ]);
    expect(log.filter((l) => l.startsWith('b>'))).toHaveLength(entered.length);
  });

  it('publish a bulk call as one batch, in order, and nothing of it when one of them throws', async () => {
    const broker = new RecordingBroker();
    const picky: ClientInterceptor = {
      async publish(out, next) {
        const { x } = out.message.body[1] as { x: number };
        // Later messages go through faster: the batch keeps the input order all the same.
        await new Promise((r) => setTimeout(r, 10 - x));
        if (x === 7) throw new Error('seven is refused');
        out.message.headers['x-index'] = x;
        return next(out);
      },
    };
    const client = createClient({ broker, interceptors: [picky] });
    const handles = await client.enqueueMany(
      add,
      [0, 1, 2].map((x) => ({ x, y: 0 })),
    );
    expect(broker.batches).toEqual([3]);
    expect(broker.sent.map((o) => o.message.headers.id)).toEqual(handles.map((h) => h.id));
    expect(broker.sent.map((o) => o.message.headers['x-index'])).toEqual([0, 1, 2]);
    await expect(
      client.enqueueMany(
        add,
        [6, 7, 8].map((x) => ({ x, y: 0 })),
      ),
    ).rejects.toThrow('seven is refused');
    expect(broker.batches).toEqual([3]);
    expect(await broker.depth('icpt')).toBe(3);
  });
});

describe('worker publish interceptors', () => {
  it('wrap what the worker publishes for a task: the next chain step and a retry', async () => {
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const flaky = implement(add, ({ x, y }, ctx) => {
      if (x === 10 && ctx.attempt === 1) throw new Error('flaky');
      return x + y;
    });
    const published: { task: string; retries: number }[] = [];
    const watching: WorkerInterceptor = {
      publish(out, next) {
        published.push({ task: out.message.headers.task, retries: out.message.headers.retries });
        out.message.headers['x-hop'] = 'worker';
        return next(out);
      },
    };
    await started({
      broker,
      backend,
      tasks: [flaky, headerImpl],
      interceptors: [watching],
      defaultRetry: { max: 1, initialDelayMs: 0 },
    });
    const client = createClient({ broker, backend });
    const chained = await client.chain([
      signature(add, { x: 1, y: 1 }),
      signature(header, { name: 'x-hop' }, { immutable: true }),
    ]);
    expect(await chained.result({ timeoutMs: 5_000 })).toBe('worker');
    const retried = await client.enqueue(add, { x: 10, y: 1 });
    expect(await retried.result({ timeoutMs: 5_000 })).toBe(11);
    expect(published).toEqual([
      { task: 'icpt.header', retries: 0 },
      { task: 'icpt.add', retries: 1 },
    ]);
  });
});

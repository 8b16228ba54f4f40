import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { type Broker, defineTask, type InferTaskInput, type InferTaskOutput } from '../src/index.js';
import * as producer from '../src/producer/index.js';
import { type Client, createClient, signature, type TaskHandle } from '../src/producer/index.js';
import { implement } from '../src/worker/index.js';

const add = defineTask({
  name: 'demo.add',
  input: z.object({ x: z.number(), y: z.number() }),
  output: z.number(),
  defaults: { retry: { max: 3 }, timeoutMs: 30_000 },
});
const parse = defineTask({
  name: 'demo.parse',
  input: z.object({ raw: z.string().transform((s) => Number(s)) }),
  output: z.object({ n: z.number() }),
});
declare const broker: Broker;
const client: Client = createClient({ broker });

describe('contract inference', () => {
  it('keeps the task name as a literal type', () => {
    expectTypeOf(add.name).toEqualTypeOf<'demo.add'>();
  });

  it('infers input and output types from the schemas', () => {
    expectTypeOf<InferTaskInput<typeof add>>().toEqualTypeOf<{ x: number; y: number }>();
    expectTypeOf<InferTaskOutput<typeof add>>().toEqualTypeOf<number>();
  });

  it('types the enqueue argument as the schema input and the result as its output', async () => {
    const handle = await client.enqueue(add, { x: 2, y: 3 }, { delayMs: 500, priority: 5 });
    expectTypeOf(handle).toEqualTypeOf<TaskHandle<number>>();
    expectTypeOf(handle.result({ timeoutMs: 5_000 })).resolves.toEqualTypeOf<number>();
  });

  it('makes wrong input a type error', () => {
    // @ts-expect-error x must be a number
    void client.enqueue(add, { x: 'no', y: 3 });
    // @ts-expect-error y is missing
    void client.enqueue(add, { x: 1 });
    // @ts-expect-error unknown option
    void client.enqueue(add, { x: 1, y: 2 }, { delay: 5 });
  });

  it('distinguishes what the producer sends from what the handler receives (transforms)', () => {
    expectTypeOf<InferTaskInput<typeof parse>>().toEqualTypeOf<{ raw: string }>();
    implement(parse, (input) => {
      expectTypeOf(input).toEqualTypeOf<{ raw: number }>();
      return { n: input.raw };
    });
  });

  it('checks the handler against the contract', () => {
    implement(add, ({ x, y }, ctx) => {
      expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>();
      return x + y;
    });
    // @ts-expect-error must return a number
    implement(add, () => 'five');
  });

  it('types a chain by its last step', async () => {
    const handle = await client.chain([signature(add, { x: 1, y: 2 }), signature(parse, { raw: '3' })]);
    expectTypeOf(handle.result()).resolves.toEqualTypeOf<{ n: number }>();
  });

  it('keeps worker code out of the producer entry point', () => {
    expectTypeOf(producer).not.toHaveProperty('createWorker');
    expectTypeOf(producer).not.toHaveProperty('implement');
  });
});

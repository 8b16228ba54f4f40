import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { type Broker, defineTask } from '../src/index.js';
import { type Client, createClient, signature, type TaskHandle } from '../src/producer/index.js';

const add = defineTask({
  name: 'types.add',
  input: z.object({ x: z.number(), y: z.number() }),
  output: z.number(),
});
const double = defineTask({ name: 'types.double', input: z.number(), output: z.number() });
const shout = defineTask({ name: 'types.shout', input: z.string(), output: z.string() });
const describeIt = defineTask({
  name: 'types.describe',
  input: z.object({ value: z.number(), unit: z.string() }),
  output: z.object({ text: z.string() }),
});
const sum = defineTask({ name: 'types.sum', input: z.array(z.number()), output: z.number() });
declare const broker: Broker;
const client: Client = createClient({ broker });

describe('typed chains', () => {
  it('accepts a chain whose every step takes the previous output', async () => {
    const handle = await client.chain([
      signature(add, { x: 1, y: 2 }),
      signature(double),
      signature(add, { y: 10 }),
      signature(describeIt, { unit: 'm' }),
    ]);
    expectTypeOf(handle).toEqualTypeOf<TaskHandle<{ text: string }>>();
  });

  it('rejects a step whose input does not accept the previous output', () => {
    // @ts-expect-error shout takes a string, double returns a number
    void client.chain([signature(double, 2), signature(shout)]);
    // @ts-expect-error the missing key `x` is a number, describe returns an object
    void client.chain([signature(describeIt, { value: 1, unit: 'm' }), signature(add, { y: 1 })]);
    // @ts-expect-error two keys missing: one previous result cannot fill both
    void client.chain([signature(double, 2), signature(add)]);
    // @ts-expect-error the mismatch is caught further down the chain too
    void client.chain([signature(double, 2), signature(double), signature(double), signature(shout)]);
  });

  it('lets an immutable step, or one with every key given, ignore the previous output', async () => {
    await client.chain([signature(double, 2), signature(shout, 'hi', { immutable: true })]);
    await client.chain([signature(double, 2), signature(add, { x: 1, y: 2 })]);
  });

  it('does not check steps made without a contract (tasks by name, e.g. in Python)', async () => {
    const python = {
      task: 'py.anything',
      args: [],
      kwargs: {},
      options: {},
      subtask_type: null,
      immutable: false,
    };
    const handle = await client.chain([signature(double, 2), python, signature(shout)]);
    expectTypeOf(handle).toEqualTypeOf<TaskHandle<string>>();
  });

  it('types group members and the chord body from their contracts', async () => {
    const handles = await client.group([signature(double, 1), signature(shout, 'x')]);
    expectTypeOf(handles[0]).toEqualTypeOf<TaskHandle<number>>();
    expectTypeOf(handles[1]).toEqualTypeOf<TaskHandle<string>>();
    const total = await client.chord([signature(double, 1), signature(double, 2)], signature(sum));
    expectTypeOf(total).toEqualTypeOf<TaskHandle<number>>();
  });
});

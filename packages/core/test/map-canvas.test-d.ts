import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { type Broker, defineTask } from '../src/index.js';
import { chunks, createClient, type TaskHandle, xmap, xstarmap } from '../src/producer/index.js';

const square = defineTask({ name: 't.square', input: z.number(), output: z.number() });
const add = defineTask({
  name: 't.add',
  input: z.object({ x: z.number(), y: z.number() }),
  output: z.string(),
});
declare const broker: Broker;
const client = createClient({ broker });

describe('map types', () => {
  it('types items and results from the contract', async () => {
    expectTypeOf(await xmap(client, square, [1, 2])).toEqualTypeOf<TaskHandle<number[]>>();
    expectTypeOf(await xstarmap(client, add, [[1, 2]])).toEqualTypeOf<TaskHandle<string[]>>();
    expectTypeOf(await chunks(client, add, [[1, 2]], 10)).toEqualTypeOf<TaskHandle<string[]>[]>();
    expectTypeOf(await xmap(client, 'py.task', [{ any: 1 }])).toEqualTypeOf<TaskHandle<unknown[]>>();
  });

  it('refuses xmap over an object input: Celery calls task(item), use xstarmap', () => {
    // @ts-expect-error an object input cannot be one positional argument
    void xmap(client, add, [{ x: 1, y: 2 }]);
    // @ts-expect-error wrong item type
    void xmap(client, square, ['one']);
  });
});

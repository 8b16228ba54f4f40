import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { type Broker, defineTask } from '../src/index.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { createClient, step, type TaskHandle, workflow } from '../src/producer/index.js';

const fetchPage = defineTask({
  name: 'd.fetch',
  input: z.object({ url: z.string() }),
  output: z.object({ body: z.string(), status: z.number() }),
});
const parse = defineTask({
  name: 'd.parse',
  input: z.object({ html: z.string() }),
  output: z.array(z.string()),
});
const count = defineTask({
  name: 'd.count',
  input: z.object({ words: z.array(z.string()) }),
  output: z.number(),
});
declare const broker: Broker;
const client = createClient({ broker });
const store = new MemoryResultBackend();

describe('typed workflows', () => {
  it("infers each node's upstream results and its own result", async () => {
    const wf = workflow({
      fetch: step(fetchPage, { url: 'u' }),
      parse: {
        task: parse,
        after: ['fetch'],
        input: ({ fetch }) => {
          expectTypeOf(fetch).toEqualTypeOf<{ body: string; status: number }>();
          return { html: fetch.body };
        },
      },
      count: { task: count, after: ['parse'], input: ({ parse }) => ({ words: parse }) },
    });
    const run = await wf.start(client, { store });
    expectTypeOf(run.nodes.count).toEqualTypeOf<TaskHandle<number>>();
    expectTypeOf(await run.result()).toEqualTypeOf<{
      readonly fetch: { body: string; status: number };
      readonly parse: string[];
      readonly count: number;
    }>();
  });

  it('rejects a mapping of the wrong type, a node not in after, an unknown node and a cycle', () => {
    workflow({
      fetch: step(fetchPage, { url: 'u' }),
      // @ts-expect-error status is a number, html a string
      parse: { task: parse, after: ['fetch'], input: ({ fetch }) => ({ html: fetch.status }) },
    });
    workflow({
      fetch: step(fetchPage, { url: 'u' }),
      parse: { task: parse, after: ['fetch'], input: ({ fetch }) => ({ html: fetch.body }) },
      // @ts-expect-error fetch is not in this node's after list
      count: { task: count, after: ['parse'], input: ({ fetch }) => ({ words: [fetch.body] }) },
    });
    workflow({
      // @ts-expect-error there is no node called nothing
      parse: { task: parse, after: ['nothing'], input: { html: '' } },
    });
    workflow(
      // @ts-expect-error a depends on b, which depends on a
      {
        a: { task: parse, after: ['b'], input: { html: '' } },
        b: { task: parse, after: ['a'], input: { html: '' } },
      },
    );
  });
});

import { type Broker, defineTask, NonRetriableError, type ResultBackend } from '@celeriac/core';
import {
  chainSignature,
  chordSignature,
  createClient,
  groupSignature,
  signature,
} from '@celeriac/core/producer';
import { createWorker, implement, type Worker } from '@celeriac/core/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { uniqueName } from './wait-for.js';

/** How a broker and a result backend with a chord join plug into {@link describeNestedCanvases}. */
export interface NestedCanvasSuiteOptions {
  /** A broker and a backend (with `capabilities.chord`); the suite closes both. */
  readonly create: () => Promise<{ broker: Broker; backend: ResultBackend }>;
}

function contracts(queue: string) {
  return {
    add: defineTask({
      name: 'nested.add',
      input: z.object({ x: z.number(), y: z.number() }),
      output: z.number(),
      defaults: { queue },
    }),
    sum: defineTask({
      name: 'nested.sum',
      input: z.array(z.number()),
      output: z.number(),
      defaults: { queue },
    }),
    boom: defineTask({ name: 'nested.boom', input: z.unknown(), output: z.number(), defaults: { queue } }),
  };
}

/**
 * Celery canvases nested three deep, in their wire form, over a broker and backend: a chord with a
 * chain in its header inside a chain, a group of a chain ending in a chord and of a chord of a
 * group, a chord in a chord's header, and a failure deep inside that settles everything after it.
 */
export function describeNestedCanvases(name: string, options: NestedCanvasSuiteOptions): void {
  describe(`nested canvases: ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0)) await c();
    });

    async function setup() {
      const queue = uniqueName('nested');
      const c = contracts(queue);
      const sums: number[][] = [];
      const { broker, backend } = await options.create();
      const worker: Worker = createWorker({
        broker,
        backend,
        queues: [queue],
        concurrency: 8,
        tasks: [
          implement(c.add, ({ x, y }) => x + y),
          implement(c.sum, (xs) => {
            sums.push(xs);
            return xs.reduce((a, b) => a + b, 0);
          }),
          implement(c.boom, () => {
            throw new NonRetriableError('boom');
          }),
        ],
      });
      await worker.start();
      cleanups.push(async () => {
        await worker.stop({ graceMs: 500 });
        await Promise.allSettled([broker.close(), backend.close()]);
      });
      const plus = (y: number) => signature(c.add, { y });
      return { c, sums, plus, client: createClient({ broker, backend }) };
    }

    it('chain → chord → chain: the chord joins a chain and a task, then the chain goes on', async () => {
      const { c, sums, plus, client } = await setup();
      const handle = await client.chain([
        signature(c.add, { x: 1, y: 1 }),
        chordSignature([chainSignature([plus(1), plus(2)]), plus(10)], signature(c.sum)),
        plus(100),
      ]);
      expect(await handle.result({ timeoutMs: 20_000 })).toBe(117);
      expect(sums).toEqual([[5, 12]]);
    });

    it('group → chain → chord, and group → chord → group', async () => {
      const { c, plus, client } = await setup();
      const [first, second] = await client.group([
        chainSignature([
          signature(c.add, { x: 1, y: 2 }),
          chordSignature([plus(1), plus(2)], signature(c.sum)),
        ]),
        chordSignature(
          [
            groupSignature([signature(c.add, { x: 1, y: 1 }), signature(c.add, { x: 2, y: 2 })]),
            signature(c.add, { x: 3, y: 3 }),
          ],
          signature(c.sum),
        ),
      ]);
      expect(await first.result({ timeoutMs: 20_000 })).toBe(9);
      expect(await second.result({ timeoutMs: 20_000 })).toBe(12);
    });

    it('a chord in a chord header: the inner body runs once and counts once in the outer join', async () => {
      const { c, sums, client } = await setup();
      const handle = await client.chord(
        [
          chordSignature(
            [signature(c.add, { x: 1, y: 1 }), signature(c.add, { x: 2, y: 2 })],
            signature(c.sum),
          ),
          signature(c.add, { x: 5, y: 5 }),
        ],
        signature(c.sum),
      );
      expect(await handle.result({ timeoutMs: 20_000 })).toBe(16);
      expect(sums).toHaveLength(2);
    });

    it('a failure three deep fails the chord body and the step after it', async () => {
      const { c, sums, plus, client } = await setup();
      const handle = await client.chain([
        signature(c.add, { x: 1, y: 1 }),
        chordSignature([chainSignature([plus(1), signature(c.boom)]), plus(10)], signature(c.sum)),
        plus(100),
      ]);
      await expect(handle.result({ timeoutMs: 20_000 })).rejects.toMatchObject({
        remote: expect.objectContaining({ excType: 'ChordError' }),
      });
      expect(sums).toEqual([]);
    });
  });
}

import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { planCanvas } from '../src/canvas-apply.js';
import { defineTask } from '../src/contract.js';
import { NonRetriableError } from '../src/errors.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import { createTaskMessage, type Signature } from '../src/message.js';
import {
  chainSignature,
  chordSignature,
  createClient,
  groupSignature,
  signature,
} from '../src/producer/index.js';
import { createWorker, implement, type Worker } from '../src/worker/index.js';

const add = defineTask({
  name: 'n.add',
  input: z.object({ x: z.number(), y: z.number() }),
  output: z.number(),
});
const sum = defineTask({ name: 'n.sum', input: z.array(z.number()), output: z.number() });
const boom = defineTask({ name: 'n.boom', input: z.unknown(), output: z.number() });

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 100 })));
});

async function setup() {
  const broker = new MemoryBroker();
  const backend = new MemoryResultBackend();
  const ran = new Map<string, number>();
  const count = (name: string) => ran.set(name, (ran.get(name) ?? 0) + 1);
  const worker = createWorker({
    broker,
    backend,
    concurrency: 8,
    tasks: [
      implement(add, ({ x, y }) => {
        count('add');
        return x + y;
      }),
      implement(sum, (xs) => {
        count('sum');
        return xs.reduce((a, b) => a + b, 0);
      }),
      implement(boom, () => {
        throw new NonRetriableError('boom');
      }),
    ],
  });
  workers.push(worker);
  await worker.start();
  return { broker, backend, ran, client: createClient({ broker, backend }) };
}

const plus = (y: number) => signature(add, { y });

describe('nested canvases, depth 3', () => {
  it('a chain with a chord whose header holds a chain, then a step after the chord', async () => {
    const { client, ran } = await setup();
    // add(1,1)=2 → chord[ chain(add(2,1)=3, add(3,2)=5), add(2,10)=12 ] → sum=17 → add(17,100)=117
    const handle = await client.chain([
      signature(add, { x: 1, y: 1 }),
      chordSignature([chainSignature([plus(1), plus(2)]), plus(10)], signature(sum)),
      plus(100),
    ]);
    const total: number = await handle.result({ timeoutMs: 10_000 });
    expect(total).toBe(117);
    expect(ran.get('sum')).toBe(1);
  });

  it('a group of a chain ending in a chord, and a chord of groups', async () => {
    const { client } = await setup();
    const [first, second] = await client.group([
      // add(1,2)=3 → chord[add(3,1)=4, add(3,2)=5] → sum=9
      chainSignature([signature(add, { x: 1, y: 2 }), chordSignature([plus(1), plus(2)], signature(sum))]),
      // chord[ group(add(1,1), add(2,2)), add(3,3) ] → sum([2,4,6]) = 12
      chordSignature(
        [
          groupSignature([signature(add, { x: 1, y: 1 }), signature(add, { x: 2, y: 2 })]),
          signature(add, { x: 3, y: 3 }),
        ],
        signature(sum),
      ),
    ]);
    expect(await first.result({ timeoutMs: 10_000 })).toBe(9);
    expect(await second.result({ timeoutMs: 10_000 })).toBe(12);
  });

  it('a chord in the header of a chord: the inner body counts once in the outer join', async () => {
    const { client, ran } = await setup();
    // inner: sum([2, 4]) = 6; outer: sum([6, 10]) = 16
    const handle = await client.chord(
      [
        chordSignature([signature(add, { x: 1, y: 1 }), signature(add, { x: 2, y: 2 })], signature(sum)),
        signature(add, { x: 5, y: 5 }),
      ],
      signature(sum),
    );
    expect(await handle.result({ timeoutMs: 10_000 })).toBe(16);
    expect(ran.get('sum')).toBe(2);
  });

  it('a failure deep inside settles the chain after it: no handle stays PENDING', async () => {
    const { client, ran } = await setup();
    const handle = await client.chain([
      signature(add, { x: 1, y: 1 }),
      chordSignature([chainSignature([plus(1), signature(boom)]), plus(10)], signature(sum)),
      plus(100),
    ]);
    await expect(handle.result({ timeoutMs: 10_000 })).rejects.toMatchObject({
      remote: expect.objectContaining({ excType: 'ChordError' }),
    });
    expect(ran.get('sum')).toBeUndefined();
  });

  it('runs the messages a Python producer sends for chain(a, group(b, c), d)', async () => {
    const { broker, backend } = await setup();
    // As Celery's prepare_steps sends it: the first task, with the rest as a chord in `chain`.
    const [a, b, c, d, gid] = ['a', 'b', 'c', 'd', 'g'].map((k) => `py-${k}-${Date.now()}`);
    const task = (name: string, id: string, kwargs: Record<string, unknown>, extra: object = {}) => ({
      task: name,
      args: [],
      kwargs,
      options: { task_id: id, reply_to: 'x', ...extra },
      subtask_type: null,
      immutable: false,
    });
    const chord = {
      task: 'celery.chord',
      args: [],
      kwargs: {
        kwargs: {},
        header: {
          task: 'celery.group',
          args: [],
          kwargs: {
            tasks: [
              task('n.add', b as string, { y: 1 }, { group_index: 0 }),
              task('n.add', c as string, { y: 2 }, { group_index: 1 }),
            ],
          },
          options: { task_id: gid, root_id: null, parent_id: null },
          subtask_type: 'group',
          immutable: false,
        },
        body: task('n.sum', d as string, {}),
      },
      options: { task_id: gid },
      subtask_type: 'chord',
      immutable: false,
    };
    const message = createTaskMessage({
      task: 'n.add',
      id: a as string,
      args: [1, 2],
      embed: { chain: [chord] },
    });
    message.headers.lang = 'py';
    await broker.publish({ queue: 'celery', message });
    // add(1,2)=3 → chord[add(3,1)=4, add(3,2)=5] → sum=9
    const meta = await backend.wait(d as string, { timeoutMs: 10_000 });
    expect(meta).toMatchObject({ status: 'SUCCESS', result: 9, group_id: gid });
  });
});

describe('link and link_error on a canvas', () => {
  const t = (task: string, id: string): Signature => ({
    task,
    args: [],
    kwargs: {},
    options: { task_id: id },
    subtask_type: null,
    immutable: false,
  });
  const callback = t('cb', 'cb-1');
  const errback = t('eb', 'eb-1');

  it("go where Celery puts them: a chain's callback on its last task, its errback on every task", () => {
    const chain: Signature = {
      task: 'celery.chain',
      args: [],
      kwargs: { tasks: [t('a', 'a-1'), t('b', 'b-1')] },
      options: { link: [callback], link_error: [errback] },
      subtask_type: 'chain',
      immutable: false,
    };
    const [first] = planCanvas(chain, [], { id: 'p', rootId: 'p' }).messages;
    const embed = first?.message.body[2];
    expect(embed?.callbacks ?? null).toBeNull();
    expect(embed?.errbacks).toEqual([errback]);
    const next = embed?.chain?.[0];
    expect(next?.options.link).toEqual([callback]);
    expect(next?.options.link_error).toEqual([errback]);
  });

  it("a chord's callback goes on its body", () => {
    const chord: Signature = {
      task: 'celery.chord',
      args: [],
      kwargs: { kwargs: {}, header: [t('a', 'a-2'), t('b', 'b-2')], body: t('s', 's-2') },
      options: { link: [callback] },
      subtask_type: 'chord',
      immutable: false,
    };
    const plan = planCanvas(chord, [], { id: 'p', rootId: 'p' });
    expect(plan.chordSizes).toEqual([[expect.any(String), 2]]);
    const body = plan.messages[0]?.message.body[2]?.chord;
    expect(body?.options.link).toEqual([callback]);
    expect(plan.messages.every((m) => m.message.body[2]?.callbacks === null)).toBe(true);
  });
});

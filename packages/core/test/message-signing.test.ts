import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { ConfigError } from '../src/errors.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import {
  type ClientInterceptor,
  createClient,
  SIGNATURE_HEADER,
  signature,
  signingInterceptor,
} from '../src/producer/index.js';
import { resolveSigning, type SigningOptions } from '../src/signing/signing-options.js';
import { createWorker, implement, type TaskEventMap, type Worker } from '../src/worker/index.js';

const add = defineTask({
  name: 'signed.add',
  input: z.object({ x: z.number(), y: z.number() }),
  output: z.number(),
});
const flaky = defineTask({
  name: 'signed.flaky',
  input: z.object({}),
  output: z.string(),
  defaults: { retry: { max: 2, initialDelayMs: 0, jitter: false } },
});

const k1 = { id: 'k1', secret: 'first secret, 32 bytes long.....' };
const k2 = { id: 'k2', secret: 'second secret, 32 bytes long....' };
const QUEUE = 'celery';

let runs = 0;
let flakyRuns = 0;
const tasks = [
  implement(add, ({ x, y }) => {
    runs++;
    return x + y;
  }),
  implement(flaky, () => {
    if (++flakyRuns === 1) throw new Error('once');
    return 'second time';
  }),
];

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 100 })));
  runs = 0;
  flakyRuns = 0;
});

async function setup(signing: SigningOptions) {
  const broker = new MemoryBroker();
  const backend = new MemoryResultBackend();
  const worker = createWorker({ broker, backend, tasks, signing });
  workers.push(worker);
  const rejected: TaskEventMap['task-rejected'][] = [];
  worker.on('task-rejected', (e) => rejected.push(e));
  const skipped: string[] = [];
  worker.on('task-skipped', (e) => skipped.push(e.uuid));
  await worker.start();
  /** Resolves once `n` messages have been rejected. */
  const rejections = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => (rejected.length >= n ? resolve() : setTimeout(check, 5));
      check();
    });
  return { broker, backend, worker, rejected, skipped, rejections };
}

const tamper: ClientInterceptor = {
  publish(out, next) {
    (out.message.body[1] as Record<string, unknown>).x = 1000;
    return next(out);
  },
};

describe('message signing', () => {
  it('runs signed tasks, their retries and the chain steps the worker publishes', async () => {
    const { broker, backend } = await setup({ keys: [k1] });
    const client = createClient({ broker, backend, signing: { keys: [k1] } });
    expect(await (await client.enqueue(add, { x: 1, y: 2 })).result({ timeoutMs: 5_000 })).toBe(3);
    expect(await (await client.enqueue(flaky, {})).result({ timeoutMs: 5_000 })).toBe('second time');
    expect(flakyRuns).toBe(2);
    const chain = await client.chain([signature(add, { x: 1, y: 1 }), signature(add, { y: 10 })]);
    expect(await chain.result({ timeoutMs: 5_000 })).toBe(12);
  });

  it('dead-letters an unsigned task with a coded reason and stores nothing under its id', async () => {
    const { broker, backend, rejected, rejections } = await setup({ keys: [k1] });
    const handle = await createClient({ broker, backend }).enqueue(add, { x: 1, y: 2 });
    await rejections(1);
    expect(rejected[0]).toMatchObject({ uuid: null, reason: { code: 'SIGNATURE_REJECTED' } });
    expect(rejected[0]?.reason.message).toContain('unsigned');
    const [letter] = await broker.readDeadLetters(QUEUE);
    expect(letter?.reason.code).toBe('SIGNATURE_REJECTED');
    expect(await backend.get(handle.id)).toBeNull();
    expect(runs).toBe(0);
  });

  it('dead-letters a task changed after it was signed', async () => {
    const { broker, backend, rejected, rejections } = await setup({ keys: [k1] });
    const client = createClient({
      broker,
      backend,
      interceptors: [signingInterceptor({ keys: [k1] }), tamper],
    });
    const handle = await client.enqueue(add, { x: 1, y: 2 });
    await rejections(1);
    expect(rejected[0]?.reason.message).toContain('does not match its signature');
    expect(await backend.get(handle.id)).toBeNull();
    expect(runs).toBe(0);
  });

  it('a forged message cannot skip a task by taking its id first, nor touch a finished result', async () => {
    const { broker, backend, rejections, skipped } = await setup({ keys: [k1] });
    const signed = createClient({ broker, backend, signing: { keys: [k1] } });
    const forger = createClient({
      broker,
      backend,
      signing: { keys: [{ id: 'k1', secret: 'a guess, not the secret key....' }] },
    });
    // First the forgery, then the real task with the same id: the real one runs.
    await forger.enqueue(add, { x: 100, y: 100 }, { taskId: 'shared-id' });
    await rejections(1);
    expect(await backend.get('shared-id')).toBeNull();
    const real = await signed.enqueue(add, { x: 1, y: 2 }, { taskId: 'shared-id' });
    expect(await real.result({ timeoutMs: 5_000 })).toBe(3);
    // A forgery reusing a finished id is refused before the state is even read.
    await forger.enqueue(add, { x: 5, y: 5 }, { taskId: 'shared-id' });
    await rejections(2);
    expect(skipped).toEqual([]);
    expect((await backend.get('shared-id'))?.result).toBe(3);
    expect(runs).toBe(1);
  });

  it('stores no FAILURE under the id an undecodable message claims', async () => {
    const { broker, backend, rejections } = await setup({ keys: [k1] });
    broker.injectRaw(QUEUE, JSON.stringify({ headers: { id: 'claimed-id' }, body: [[], {}, null] }));
    await rejections(1);
    expect(await backend.get('claimed-id')).toBeNull();
  });

  it('rotates keys: a worker accepts every key it lists and signs with the one it is told', async () => {
    const { broker, backend, rejected } = await setup({ keys: [k2, k1], sign: 'k2' });
    const old = createClient({ broker, backend, signing: { keys: [k1] } });
    const rotated = createClient({ broker, backend, signing: { keys: [k2, k1] } });
    expect(await (await old.enqueue(add, { x: 1, y: 1 })).result({ timeoutMs: 5_000 })).toBe(2);
    expect(await (await rotated.enqueue(add, { x: 2, y: 2 })).result({ timeoutMs: 5_000 })).toBe(4);
    expect(rejected).toEqual([]);
    await workers.splice(0)[0]?.stop();

    // The old key retired: what it signs is refused as signed with an unknown key.
    const retired = createWorker({ broker, backend, tasks, signing: { keys: [k2] } });
    workers.push(retired);
    const refused: TaskEventMap['task-rejected'][] = [];
    retired.on('task-rejected', (e) => refused.push(e));
    await retired.start();
    await old.enqueue(add, { x: 3, y: 3 });
    await new Promise<void>((resolve) => {
      const check = () => (refused.length > 0 ? resolve() : setTimeout(check, 5));
      check();
    });
    expect(refused[0]?.reason.message).toContain('unknown-key');
    expect(await (await rotated.enqueue(add, { x: 4, y: 4 })).result({ timeoutMs: 5_000 })).toBe(8);
  });

  it('puts the signature and key id in headers, and checks its options', async () => {
    const broker = new MemoryBroker();
    const seen: Record<string, unknown>[] = [];
    const client = createClient({
      broker,
      signing: { keys: [k1] },
      interceptors: [
        {
          publish: (out, next) => {
            seen.push({ ...out.message.headers });
            return next(out);
          },
        },
      ],
    });
    await client.enqueue(add, { x: 1, y: 2 });
    // The user's interceptor runs before signing, so it sees the message unsigned.
    expect(seen[0]?.[SIGNATURE_HEADER]).toBeUndefined();
    const consumer = await new Promise<Record<string, unknown>>((resolve) => {
      void broker.consume({
        queues: [QUEUE],
        prefetch: 1,
        onDelivery: (d) => d.kind === 'task' && resolve(d.message.headers),
      });
    });
    expect(consumer['x-celeriac-signature-key']).toBe('k1');
    expect(consumer[SIGNATURE_HEADER]).toMatch(/^[\w-]{43}$/);
    await broker.close();

    expect(() => resolveSigning({ keys: [] })).toThrow(ConfigError);
    expect(() => resolveSigning({ keys: [{ id: 'a', secret: 'short' }] })).toThrow(/shorter than 16 bytes/);
    expect(() => resolveSigning({ keys: [k1, k1] })).toThrow(/listed twice/);
    expect(() => resolveSigning({ keys: [k1], sign: 'k9' })).toThrow(/not in signing.keys/);
  });
});

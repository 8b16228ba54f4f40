import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { RemoteTaskError } from '../src/errors.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import type { Signature } from '../src/message.js';
import { createClient, signature } from '../src/producer/index.js';
import { createWorker, implement, type Worker, type WorkerLimits } from '../src/worker/index.js';

// Item 2 of the reliability issue: an outcome that can never be stored is the task's FAILURE,
// stored at once, and the handler runs once, instead of a requeue loop of reruns.

const circular = defineTask({ name: 'bad.circular', input: z.object({}), output: z.unknown() });
const throwingToJson = defineTask({ name: 'bad.to-json', input: z.object({}), output: z.unknown() });
const huge = defineTask({ name: 'bad.huge', input: z.object({}), output: z.unknown() });
const bigInt = defineTask({ name: 'bad.bigint', input: z.object({}), output: z.unknown() });
const smallBigInt = defineTask({ name: 'ok.bigint', input: z.object({}), output: z.unknown() });
const fine = defineTask({ name: 'ok.fine', input: z.object({}), output: z.number() });
const oddError = defineTask({ name: 'bad.odd-error', input: z.object({}), output: z.unknown() });

const runs = new Map<string, number>();
const count = (name: string) => runs.set(name, (runs.get(name) ?? 0) + 1);

const tasks = [
  implement(circular, () => {
    count('bad.circular');
    const value: Record<string, unknown> = { a: 1 };
    value.self = value;
    return value;
  }),
  implement(throwingToJson, () => {
    count('bad.to-json');
    return {
      toJSON() {
        throw new Error('no JSON for you');
      },
    };
  }),
  implement(huge, () => {
    count('bad.huge');
    return { rows: Array.from({ length: 200 }, (_, i) => `row ${i} of a result far over the limit`) };
  }),
  implement(bigInt, () => {
    count('bad.bigint');
    return 2n ** 64n;
  }),
  implement(smallBigInt, () => {
    count('ok.bigint');
    return 42n;
  }),
  implement(fine, () => {
    count('ok.fine');
    return 7;
  }),
  implement(oddError, () => {
    count('bad.odd-error');
    const error = new Error('placeholder');
    // A message that is not text and cannot be encoded: what a careless handler may throw.
    const message: Record<string, unknown> = {};
    message.self = message;
    Object.defineProperty(error, 'message', { value: message });
    throw error;
  }),
];

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 100 })));
  runs.clear();
});

async function setup(limits: WorkerLimits | undefined = { maxResultBytes: 1024 }) {
  const broker = new MemoryBroker();
  const backend = new MemoryResultBackend();
  const worker = createWorker({ broker, backend, tasks, ...(limits ? { limits } : {}) });
  workers.push(worker);
  await worker.start();
  return { broker, backend, worker, client: createClient({ broker, backend }) };
}

async function remoteError(promise: Promise<unknown>): Promise<RemoteTaskError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RemoteTaskError);
  return error as RemoteTaskError;
}

describe('unstorable outcomes', () => {
  it.each([
    ['a circular result', circular, /circular/i],
    ['a result whose toJSON throws', throwingToJson, /no JSON for you/],
    ['a result over limits.maxResultBytes', huge, /over the worker's limits.maxResultBytes \(1024\)/],
    ['a BigInt result beyond 2^53', bigInt, /BigInt 18446744073709551616/],
  ])('%s fails its task once, with ResultNotStorableError naming it', async (_, contract, reason) => {
    const { client, broker } = await setup();
    const handle = await client.enqueue(contract, {});
    const error = await remoteError(handle.result({ timeoutMs: 5_000 }));
    expect(error.remote.state).toBe('FAILURE');
    expect(error.remote.excType).toBe('ResultNotStorableError');
    expect(error.remote.excMessage).toContain(`outcome of task ${contract.name} (${handle.id})`);
    expect(error.remote.excMessage).toMatch(reason);
    expect(runs.get(contract.name)).toBe(1);
    expect(await broker.depth('celery')).toBe(0);
  });

  it.each([
    ['a circular result', circular, /circular/i],
    ['a result whose toJSON throws', throwingToJson, /no JSON for you/],
    ['a BigInt result beyond 2^53', bigInt, /BigInt 18446744073709551616/],
  ])(
    'without a size limit, %s still fails once when the backend cannot encode it',
    async (_, contract, reason) => {
      const { client } = await setup(undefined);
      const handle = await client.enqueue(contract, {});
      const error = await remoteError(handle.result({ timeoutMs: 5_000 }));
      expect(error.remote.excType).toBe('ResultNotStorableError');
      expect(error.remote.excMessage).toMatch(reason);
      expect(runs.get(contract.name)).toBe(1);
    },
  );

  it('without a size limit, a circular result with a callback fails once and publishes nothing', async () => {
    const { client, broker } = await setup(undefined);
    const callback = signature(fine, {}, { immutable: true });
    const handle = await client.enqueue(circular, {}, { link: [callback] });
    const error = await remoteError(handle.result({ timeoutMs: 5_000 }));
    expect(error.remote.excType).toBe('ResultNotStorableError');
    expect(runs.get('bad.circular')).toBe(1);
    expect(runs.get('ok.fine')).toBeUndefined();
    expect(await broker.depth('celery')).toBe(0);
  });

  it('a callback signature in the embed that is not one fails the task once', async () => {
    const { client } = await setup();
    const notASignature = { task: 42, args: 'nope' } as unknown as Signature;
    const handle = await client.enqueue(fine, {}, { link: [notASignature] });
    const error = await remoteError(handle.result({ timeoutMs: 5_000 }));
    expect(error.remote.excType).toBe('ResultNotStorableError');
    expect(error.remote.excMessage).toMatch(/not a signature/);
    expect(runs.get('ok.fine')).toBe(1);
  });

  it('an error whose message cannot be encoded is still stored as the FAILURE, once', async () => {
    const { client } = await setup();
    const handle = await client.enqueue(oddError, {});
    const error = await remoteError(handle.result({ timeoutMs: 5_000 }));
    expect(error.remote.excType).toBe('Error');
    expect(error.remote.excMessage).toBe('[object Object]');
    expect(runs.get('bad.odd-error')).toBe(1);
  });

  it('a BigInt that fits a JSON number exactly is stored as that number', async () => {
    const { client } = await setup();
    const handle = await client.enqueue(smallBigInt, {});
    expect(await handle.result({ timeoutMs: 5_000 })).toBe(42);
  });
});

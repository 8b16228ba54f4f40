import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { ConfigError, RemoteTaskError } from '../src/errors.js';
import { callToInput } from '../src/input-mapping.js';
import { decodeJson } from '../src/json-codec.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import { createClient } from '../src/producer/index.js';
import { RETRY_POLICY_HEADER } from '../src/retry-policy.js';
import { createWorker, implement, type Worker, type WorkerOptions } from '../src/worker/index.js';
import { clampRetryPolicy, resolveLimits } from '../src/worker/worker-limits.js';

// Item 7 of the reliability issue: a message may not ask a worker for more than its limits allow.

const flaky = defineTask({ name: 'limits.flaky', input: z.object({}), output: z.number() });
const trustedFlaky = defineTask({
  name: 'limits.trusted-flaky',
  input: z.object({}),
  output: z.number(),
  defaults: { retry: { max: 5, initialDelayMs: 0, jitter: false } },
});
const nap = defineTask({ name: 'limits.nap', input: z.object({ ms: z.number() }), output: z.number() });
const profile = defineTask({
  name: 'limits.profile',
  input: z.object({ name: z.string(), admin: z.boolean().optional() }),
  output: z.unknown(),
});
const add = defineTask({
  name: 'limits.add',
  input: z.object({ x: z.number(), y: z.number() }),
  output: z.number(),
});
const square = defineTask({ name: 'limits.square', input: z.number(), output: z.number() });

const runs = new Map<string, number>();
const count = (name: string) => runs.set(name, (runs.get(name) ?? 0) + 1);
let seenInput: unknown;

const tasks = [
  implement(flaky, () => {
    count(flaky.name);
    throw new Error('try again');
  }),
  implement(trustedFlaky, () => {
    count(trustedFlaky.name);
    throw new Error('try again');
  }),
  implement(nap, ({ ms }) => new Promise<number>((r) => setTimeout(() => r(ms), ms))),
  implement(profile, (input) => {
    seenInput = input;
    return { admin: input.admin ?? null };
  }),
  implement(add, ({ x, y }) => x + y),
  implement(square, (n) => n * n),
];

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 100 })));
  runs.clear();
  seenInput = undefined;
});

async function setup(options: Partial<WorkerOptions> = {}) {
  const broker = new MemoryBroker();
  const backend = new MemoryResultBackend();
  const worker = createWorker({ broker, backend, tasks, ...options });
  workers.push(worker);
  await worker.start();
  return { worker, client: createClient({ broker, backend }) };
}

async function failure(promise: Promise<unknown>): Promise<RemoteTaskError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RemoteTaskError);
  return error as RemoteTaskError;
}

describe('a retry policy header is held to the worker limits', () => {
  it('{ max: 1e6, initialDelayMs: 0 } runs 1 + limits.maxRetries times, then fails', async () => {
    const { client } = await setup({ limits: { maxRetries: 3 } });
    const handle = await client.send(
      flaky.name,
      {},
      {
        headers: { [RETRY_POLICY_HEADER]: { max: 1e6, initialDelayMs: 0, jitter: false } },
      },
    );
    const error = await failure(handle.result({ timeoutMs: 10_000 }));
    expect(error.remote.excMessage).toBe('try again');
    expect(runs.get(flaky.name)).toBe(4);
  });

  it("a contract's own policy raises the bound for its task", async () => {
    const { client } = await setup({ limits: { maxRetries: 1 } });
    const handle = await client.enqueue(trustedFlaky, {});
    await failure(handle.result({ timeoutMs: 10_000 }));
    expect(runs.get(trustedFlaky.name)).toBe(6);
  });

  it('delays are capped at limits.maxRetryDelayMs', async () => {
    const { client, worker } = await setup({ limits: { maxRetryDelayMs: 20 } });
    const delays: number[] = [];
    worker.on('task-retried', (e) => delays.push(e.delayMs));
    const handle = await client.send(
      flaky.name,
      {},
      {
        headers: { [RETRY_POLICY_HEADER]: { max: 2, initialDelayMs: 1e12, jitter: false } },
      },
    );
    await failure(handle.result({ timeoutMs: 10_000 }));
    expect(delays).toEqual([20, 20]);
  });

  it('clamps each field and ignores what is not a policy', () => {
    const limits = resolveLimits({ maxRetries: 10, maxRetryDelayMs: 1000 });
    expect(clampRetryPolicy({ max: 'lots' }, limits, undefined)).toBeUndefined();
    expect(clampRetryPolicy('x', limits, undefined)).toBeUndefined();
    expect(
      clampRetryPolicy(
        { max: 50.7, initialDelayMs: -1, factor: Number.NaN, maxDelayMs: 1e9, jitter: 'no' },
        limits,
        undefined,
      ),
    ).toEqual({ max: 10, maxDelayMs: 1000 });
    expect(() => resolveLimits({ maxRetries: -1 })).toThrow(ConfigError);
  });
});

describe('time limits beyond what a timer can hold', () => {
  it('a hard limit over 2^31 - 1 ms does not fire at once', async () => {
    const { client } = await setup();
    const handle = await client.enqueue(nap, { ms: 30 }, { timeoutMs: 2 ** 32, softTimeoutMs: 2 ** 33 });
    expect(await handle.result({ timeoutMs: 5_000 })).toBe(30);
  });
});

describe('inputs built from the wire', () => {
  it('a __proto__ key in kwargs never becomes the input prototype', async () => {
    const { client } = await setup();
    const kwargs = JSON.parse('{"__proto__": {"admin": true}, "name": "mallory"}') as Record<string, unknown>;
    const handle = await client.send(profile.name, { kwargs });
    expect(await handle.result({ timeoutMs: 5_000 })).toEqual({ admin: null });
    expect(seenInput).toEqual({ name: 'mallory' });
    expect((seenInput as { admin?: unknown }).admin).toBeUndefined();
    expect(({} as { admin?: unknown }).admin).toBeUndefined();
  });

  it('maps kwargs onto a null-prototype object with own keys only', () => {
    const kwargs = JSON.parse('{"__proto__": {"admin": true}, "name": "x"}') as Record<string, unknown>;
    const input = callToInput(profile, [], kwargs) as Record<string, unknown>;
    expect(Object.getPrototypeOf(input)).toBeNull();
    expect(Object.keys(input)).toEqual(['__proto__', 'name']);
    expect(input.admin).toBeUndefined();
  });

  it('decodes a __proto__ key as a key, on the tagged path too', () => {
    const value = decodeJson(
      '{"__proto__": {"admin": true}, "at": {"__type__": "datetime", "__value__": "2024-01-01T00:00:00+00:00"}}',
    ) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(value.admin).toBeUndefined();
    expect(value.at).toBeInstanceOf(Date);
  });

  it('extra positional args fail validation instead of being dropped', async () => {
    const { client } = await setup();
    const error = await failure(
      (await client.send(add.name, { args: [1, 2, 3] })).result({ timeoutMs: 5_000 }),
    );
    expect(error.remote.excType).toBe('ValidationError');
    expect(error.remote.excMessage).toContain('takes 2 positional argument(s) but 3 were given');
    const single = await failure(
      (await client.send(square.name, { args: [3, 4] })).result({ timeoutMs: 5_000 }),
    );
    expect(single.remote.excMessage).toContain('takes 1 positional argument(s) but 2 were given');
    expect(await (await client.send(add.name, { args: [1, 2] })).result({ timeoutMs: 5_000 })).toBe(3);
  });
});

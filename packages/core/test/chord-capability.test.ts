import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { RemoteTaskError, UnsupportedError } from '../src/errors.js';
import { MemoryResultBackend, memoryBackendCapabilities } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import { createClient, signature } from '../src/producer/index.js';
import type { ResultBackend } from '../src/result-backend.js';
import { createWorker, implement, type Worker } from '../src/worker/index.js';

const add = defineTask({
  name: 'unit.add',
  input: z.object({ x: z.number(), y: z.number() }),
  output: z.number(),
  defaults: { queue: 'chords' },
});
const total = defineTask({
  name: 'unit.total',
  input: z.array(z.number()),
  output: z.number(),
  defaults: { queue: 'chords' },
});
const tasks = [implement(add, ({ x, y }) => x + y), implement(total, (xs) => xs.reduce((a, b) => a + b, 0))];

/** A real in-memory backend that declares no chord join and has none of its methods. */
function resultsOnly(inner: MemoryResultBackend): ResultBackend {
  return {
    name: 'results-only',
    capabilities: { ...memoryBackendCapabilities, chord: false },
    store: (meta, options) => inner.store(meta, options),
    get: (id) => inner.get(id),
    getMany: (ids) => inner.getMany(ids),
    wait: (id, options) => inner.wait(id, options),
    forget: (id) => inner.forget(id),
    close: () => inner.close(),
  };
}

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 100 })));
});

describe('chords on a backend without a chord join', () => {
  it('the producer refuses a chord with UnsupportedError before publishing anything', async () => {
    const broker = new MemoryBroker();
    const client = createClient({ broker, backend: resultsOnly(new MemoryResultBackend()) });
    const error = await client
      .chord([signature(add, { x: 1, y: 2 })], signature(total))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedError);
    expect((error as UnsupportedError).message).toMatch(
      /results-only result backend does not support chords/,
    );
    expect(await broker.depth('chords')).toBe(0);
  });

  it('still runs a group, which needs no join', async () => {
    const broker = new MemoryBroker();
    const backend = resultsOnly(new MemoryResultBackend());
    const worker = createWorker({ broker, backend, tasks });
    workers.push(worker);
    await worker.start();
    const handles = await createClient({ broker, backend }).group([
      signature(add, { x: 1, y: 2 }),
      signature(add, { x: 3, y: 4 }),
    ]);
    expect(await Promise.all(handles.map((h) => h.result({ timeoutMs: 5_000 })))).toEqual([3, 7]);
  });

  it('the worker fails the body of a chord it receives with UnsupportedError', async () => {
    // A producer elsewhere (say, Python Celery) counted the chord in a backend that can join; this
    // worker's backend cannot, so the body would never run: its waiter must fail instead.
    const broker = new MemoryBroker();
    const shared = new MemoryResultBackend();
    const handle = await createClient({ broker, backend: shared }).chord(
      [signature(add, { x: 1, y: 2 }), signature(add, { x: 3, y: 4 })],
      signature(total),
    );
    const worker = createWorker({ broker, backend: resultsOnly(shared), tasks });
    workers.push(worker);
    await worker.start();
    const error = await handle.result({ timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteTaskError);
    expect((error as RemoteTaskError).remote.excType).toBe('UnsupportedError');
    expect((error as RemoteTaskError).remote.excMessage).toMatch(/does not support chords/);
  });
});

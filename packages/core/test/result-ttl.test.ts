import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import { createClient } from '../src/producer/index.js';
import type { ResultMeta, StoreOptions } from '../src/result-backend.js';
import { createWorker, implement, type Worker } from '../src/worker/index.js';

/** A real in-memory backend that also remembers the options of each store. */
class ObservedBackend extends MemoryResultBackend {
  readonly ttls = new Map<string, number | undefined>();
  override store(meta: ResultMeta, options?: StoreOptions): Promise<void> {
    if (meta.status === 'SUCCESS' || meta.status === 'FAILURE') this.ttls.set(meta.task_id, options?.ttlMs);
    return super.store(meta, options);
  }
}

const short = defineTask({
  name: 'ttl.short',
  input: z.object({ fail: z.boolean() }),
  output: z.number(),
  defaults: { queue: 'ttl', resultTtlMs: 60_000 },
});
const plain = defineTask({
  name: 'ttl.plain',
  input: z.number(),
  output: z.number(),
  defaults: { queue: 'ttl' },
});

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 100 })));
});

async function setup() {
  const broker = new MemoryBroker();
  const backend = new ObservedBackend();
  const worker = createWorker({
    broker,
    backend,
    tasks: [
      implement(short, ({ fail }) => {
        if (fail) throw new Error('no');
        return 1;
      }),
      implement(plain, (n) => n),
    ],
  });
  workers.push(worker);
  await worker.start();
  return { backend, client: createClient({ broker, backend }) };
}

describe('per-task result expiry', () => {
  it("stores with the contract's resultTtlMs, a per-call one over it, and the backend's default without", async () => {
    const { backend, client } = await setup();
    const byContract = await client.enqueue(short, { fail: false });
    const perCall = await client.enqueue(short, { fail: false }, { resultTtlMs: 5_000 });
    const keptForever = await client.enqueue(plain, 1, { resultTtlMs: 0 });
    const none = await client.enqueue(plain, 2);
    for (const h of [byContract, perCall, keptForever, none]) await h.result({ timeoutMs: 5_000 });
    expect(backend.ttls.get(byContract.id)).toBe(60_000);
    expect(backend.ttls.get(perCall.id)).toBe(5_000);
    expect(backend.ttls.get(keptForever.id)).toBe(0);
    expect(backend.ttls.has(none.id)).toBe(true);
    expect(backend.ttls.get(none.id)).toBeUndefined();
  });

  it('applies to a failure too, and the result is really gone once its TTL has passed', async () => {
    const { backend, client } = await setup();
    const failed = await client.enqueue(short, { fail: true }, { resultTtlMs: 1 });
    await expect(failed.result({ timeoutMs: 5_000 })).rejects.toThrow(/no/);
    expect(backend.ttls.get(failed.id)).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(await backend.get(failed.id)).toBeNull();
  });

  it('uses the contract default the worker knows when the message has no TTL header (a Python producer)', async () => {
    const { backend, client } = await setup();
    const sent = await client.send('ttl.short', { kwargs: { fail: false } }, { queue: 'ttl' });
    await sent.result({ timeoutMs: 5_000 });
    expect(backend.ttls.get(sent.id)).toBe(60_000);
  });
});

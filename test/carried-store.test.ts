import { MemoryBroker, TaskState } from '@celeriac/core';
import {
  buildMeta,
  type CarriedStore,
  type Consumer,
  carriedStoreOf,
  createTaskMessage,
  type Delivery,
  type ResultBackend,
} from '@celeriac/core/adapter';
import { freePort, type OwnRedisServer, startRedisServer } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const { RedisBroker } = await import('@celeriac/broker-redis');
const { RedisResultBackend } = await import('@celeriac/backend-redis');

type Closer = { close(): Promise<void> };

/** A store the backend offers for a fresh SUCCESS of `id`. */
function successStore(backend: ResultBackend, id: string, value: unknown): CarriedStore {
  const offer = carriedStoreOf(backend);
  const store = offer?.(buildMeta(TaskState.SUCCESS, id, value));
  if (!store) throw new Error('the Redis backend offers no carried store');
  return store;
}

describe('a result store carried by the Redis broker ack (one server)', () => {
  const servers: OwnRedisServer[] = [];
  const open: Closer[] = [];
  let port = 0;
  let other = 0;

  beforeAll(async () => {
    port = await freePort();
    servers.push(await startRedisServer(port, ['--port', String(port)]));
    other = await freePort();
    servers.push(await startRedisServer(other, ['--port', String(other)]));
  }, 60_000);

  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((c) => c.close()));
  });

  afterAll(async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
  });

  function broker(url = `redis://127.0.0.1:${port}`) {
    const b = new RedisBroker({ url });
    open.push(b);
    return b;
  }

  function backend(url = `redis://127.0.0.1:${port}`) {
    const b = new RedisResultBackend({ url });
    open.push(b);
    return b;
  }

  /** What consumers reported (an ack of a delivery no longer held is one). */
  const reported: string[] = [];

  /** Publishes one task and takes its delivery with prefetch 1. */
  async function deliveryOf(
    b: InstanceType<typeof RedisBroker>,
  ): Promise<{ d: Delivery; id: string; queue: string }> {
    const queue = uniqueName('carry');
    const message = createTaskMessage({ task: 'tasks.add', args: [1, 2] });
    await b.publish({ queue, message });
    const got: Delivery[] = [];
    const consumer: Consumer = await b.consume({
      queues: [queue],
      prefetch: 1,
      onDelivery: (d) => got.push(d),
      onError: (e) => reported.push(e.message),
    });
    open.push(consumer);
    const d = await waitFor(() => got[0], { what: 'the delivery' });
    return { d, id: message.headers.id, queue };
  }

  it('stores, publishes to a waiter and acks in one call, keeping a ready state final', async () => {
    const b = broker();
    const be = backend();
    const { d, id, queue } = await deliveryOf(b);
    const waiting = be.wait(id, { timeoutMs: 10_000 });
    const store = successStore(be, id, 3);
    expect(d.carries?.(store)).toBe(true);
    await d.ack({ store });
    expect((await waiting).result).toBe(3);
    expect(await b.depth(queue)).toBe(0);

    // A second delivery of the same id after a REVOKED: the carried SUCCESS keeps the REVOKED.
    const again = await deliveryOf(b);
    await be.store(
      buildMeta(TaskState.REVOKED, again.id, { exc_type: 'TaskRevokedError', exc_message: ['x'] }),
    );
    const kept = be.diagnostics().storesKeptSuccess;
    await again.d.ack({ store: successStore(be, again.id, 4) });
    expect((await be.get(again.id))?.status).toBe(TaskState.REVOKED);
    expect(be.diagnostics().storesKeptSuccess).toBe(kept + 1);
  });

  it('is not offered across databases or servers: those keep store then ack', async () => {
    const b = broker();
    const { d } = await deliveryOf(b);
    expect(d.carries?.(successStore(backend(`redis://127.0.0.1:${port}/1`), 'x', 1))).toBe(false);
    expect(d.carries?.(successStore(backend(`redis://127.0.0.1:${other}`), 'x', 1))).toBe(false);
    // Asked anyway, the ack refuses rather than dropping the result, and the delivery stays held.
    const foreign = successStore(backend(`redis://127.0.0.1:${other}`), 'x', 1);
    await expect(d.ack({ store: foreign })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    await d.ack();
  });

  it('leaves the delivery held when the write fails, so it can be settled again', async () => {
    const b = broker();
    const { d, queue } = await deliveryOf(b);
    const failing: CarriedStore = {
      target: `redis://127.0.0.1:${port}/0`,
      script: "return function(keys, args) error('write refused') end",
      keys: [uniqueName('k')],
      args: [],
    };
    expect(d.carries?.(failing)).toBe(true);
    await expect(d.ack({ store: failing })).rejects.toThrow(/write refused/);
    // Still held: a plain ack now settles it (no "ack ignored" report), and nothing was redelivered.
    reported.length = 0;
    await d.ack();
    expect(reported).toEqual([]);
    expect(await b.depth(queue)).toBe(0);
  });

  it('cannot be carried by a broker without the capability (memory)', async () => {
    const mem = new MemoryBroker();
    open.push(mem);
    const queue = uniqueName('mem');
    await mem.publish({ queue, message: createTaskMessage({ task: 't' }) });
    const got: Delivery[] = [];
    open.push(await mem.consume({ queues: [queue], prefetch: 1, onDelivery: (d) => got.push(d) }));
    const d = await waitFor(() => got[0], { what: 'the delivery' });
    const store = successStore(backend(), 'y', 1);
    expect(d.carries?.(store) ?? false).toBe(false);
    await expect(d.ack({ store })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });
});

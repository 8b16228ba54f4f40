import { randomUUID } from 'node:crypto';
import { MemoryBroker, MemoryResultBackend } from '@celeriac/core';
import type { ControlTransport } from '@celeriac/core/adapter';
import { type ControlClient, createClient, createControlClient } from '@celeriac/core/producer';
import { createWorker, type Worker } from '@celeriac/core/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { newProbe, runtimeContracts, runtimeImplementations } from './runtime-fixtures.js';
import { uniqueName, waitFor } from './wait-for.js';

/** How a control transport plugs into {@link describeControlTransport}. */
export interface ControlTransportSuiteOptions {
  /** A transport in the given control namespace (Celery's `control_exchange`). */
  readonly create: (namespace: string) => ControlTransport;
  /** Longest wait for replies in the suite's calls. @default 3000 */
  readonly timeoutMs?: number;
}

/**
 * The conformance suite of a {@link ControlTransport}: Celeriac's control client and worker
 * nodes talk through it — replies reach the caller that asked, commands reach the nodes they
 * address and only those, casts act without replies, a stopped node stays silent. Each test uses a
 * namespace of its own, so suites can share a broker. Workers run on the in-memory broker: only
 * the control plane crosses the transport.
 */
export function describeControlTransport(name: string, options: ControlTransportSuiteOptions): void {
  const timeoutMs = options.timeoutMs ?? 3000;

  describe(`control transport conformance: ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
    });

    /** A worker on a memory broker, answering control in `namespace`. */
    const startNode = async (namespace: string, hostname: string) => {
      const queue = uniqueName('ctl');
      const contracts = runtimeContracts(queue);
      const broker = new MemoryBroker();
      const backend = new MemoryResultBackend();
      const probe = newProbe();
      const tasks = runtimeImplementations(contracts, probe);
      const transport = options.create(namespace);
      const worker: Worker = createWorker({
        broker,
        backend,
        tasks,
        queues: [queue],
        concurrency: 2,
        hostname,
        control: transport,
      });
      await worker.start();
      cleanups.push(async () => {
        await worker.stop({ graceMs: 100 });
        await transport.close();
      });
      return { worker, broker, backend, contracts, probe, queue };
    };
    const startClient = (namespace: string): ControlClient => {
      const client = createControlClient(options.create(namespace), { timeoutMs });
      cleanups.push(() => client.close());
      return client;
    };

    it('a node answers ping, and the caller returns as soon as every destination replied', async () => {
      const ns = uniqueName('ns');
      const host = `a-${randomUUID().slice(0, 6)}@suite`;
      await startNode(ns, host);
      const client = startClient(ns);
      expect(await client.ping({ destination: [host], timeoutMs: 60_000 })).toEqual({
        [host]: { ok: 'pong' },
      });
    });

    it('a command reaches only the nodes it names, by destination or by pattern', async () => {
      const ns = uniqueName('ns');
      const a = `a-${randomUUID().slice(0, 6)}@suite`;
      const b = `b-${randomUUID().slice(0, 6)}@suite`;
      const nodeA = await startNode(ns, a);
      const nodeB = await startNode(ns, b);
      const client = startClient(ns);
      // Calls to every node wait for their whole timeout: nobody knows how many nodes there are.
      const all = { timeoutMs: 1500 };
      expect(await client.ping(all)).toEqual({ [a]: { ok: 'pong' }, [b]: { ok: 'pong' } });
      expect(await client.poolGrow(3, { destination: [b] })).toEqual({ [b]: { ok: 'pool will grow' } });
      expect(nodeB.worker.stats().concurrency).toBe(5);
      expect(nodeA.worker.stats().concurrency).toBe(2);
      expect(Object.keys(await client.ping({ ...all, pattern: 'a-*' }))).toEqual([a]);
      expect(Object.keys(await client.ping({ ...all, pattern: '^b-', matcher: 'pcre' }))).toEqual([b]);
    });

    it('concurrent calls each get their own replies', async () => {
      const ns = uniqueName('ns');
      const host = `c-${randomUUID().slice(0, 6)}@suite`;
      const { worker } = await startNode(ns, host);
      const client = startClient(ns);
      const other = startClient(ns);
      const [pong, registered, stats] = await Promise.all([
        client.ping({ destination: [host] }),
        client.inspect({ destination: [host] }).registered(),
        other.inspect({ destination: [host] }).stats(),
      ]);
      expect(pong).toEqual({ [host]: { ok: 'pong' } });
      expect(registered[host]).toEqual(['testkit.add', 'testkit.flaky', 'testkit.sleep', 'testkit.total']);
      expect(stats[host]).toMatchObject({
        pid: process.pid,
        pool: { 'max-concurrency': worker.stats().concurrency },
      });
    });

    it('a cast acts without replies, and a call nobody answers ends empty at its timeout', async () => {
      const ns = uniqueName('ns');
      const host = `d-${randomUUID().slice(0, 6)}@suite`;
      const { worker } = await startNode(ns, host);
      const client = startClient(ns);
      expect(await client.poolGrow(1, { reply: false })).toEqual({});
      await waitFor(() => worker.stats().concurrency === 3, { what: 'the cast pool_grow to act' });
      expect(await client.ping({ destination: ['nobody@nowhere'], timeoutMs: 300 })).toEqual({});
    });

    it('inspect shows a running task; revoke keeps a queued one from running', async () => {
      const ns = uniqueName('ns');
      const host = `e-${randomUUID().slice(0, 6)}@suite`;
      const { broker, backend, contracts, probe, queue, worker } = await startNode(ns, host);
      const producer = createClient({ broker, backend });
      const running = await producer.enqueue(contracts.sleep, { ms: 60_000 });
      await waitFor(() => worker.stats().active === 1, { what: 'the task to start' });
      const client = startClient(ns);
      const active = await client.inspect({ destination: [host] }).active();
      expect(active[host]).toEqual([
        expect.objectContaining({
          id: running.id,
          name: 'testkit.sleep',
          delivery_info: expect.objectContaining({ routing_key: queue }),
        }),
      ]);
      const id = randomUUID();
      expect(await client.revoke(id, { destination: [host] })).toEqual({
        [host]: { ok: `tasks {'${id}'} flagged as revoked` },
      });
      expect((await backend.get(id))?.status).toBe('REVOKED');
      await producer.enqueue(contracts.add, { x: 1, y: 2 }, { taskId: id });
      const later = await producer.enqueue(contracts.add, { x: 2, y: 2 });
      expect(await later.result({ timeoutMs: 10_000 })).toBe(4);
      expect(probe.calls.has(id)).toBe(false);
    });

    it('a stopped worker no longer answers', async () => {
      const ns = uniqueName('ns');
      const host = `f-${randomUUID().slice(0, 6)}@suite`;
      const { worker } = await startNode(ns, host);
      const client = startClient(ns);
      expect(await client.ping({ destination: [host] })).toEqual({ [host]: { ok: 'pong' } });
      await worker.stop({ graceMs: 100 });
      expect(await client.ping({ destination: [host], timeoutMs: 500 })).toEqual({});
    });
  });
}

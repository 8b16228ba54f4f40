import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { createControlDispatcher, NO_REPLY } from '../src/control/dispatcher.js';
import { isAddressedTo, mailboxNames, parseControlRequest } from '../src/control/protocol.js';
import { RevokedSet } from '../src/control/revoked-set.js';
import type { ControlTarget } from '../src/control/target.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import {
  createClient,
  createControlClient,
  MemoryControlBus,
  MemoryControlTransport,
} from '../src/producer/index.js';
import { createWorker, implement, type Worker } from '../src/worker/index.js';

const request = (method: string, args: Record<string, unknown> = {}, extra: object = {}) => ({
  method,
  arguments: args,
  destination: null,
  pattern: null,
  matcher: null,
  ...extra,
});

describe('control protocol', () => {
  it('addresses nodes as kombu does: destination list, else glob or pcre pattern, else everyone', () => {
    expect(isAddressedTo(request('ping'), 'a@h')).toBe(true);
    expect(isAddressedTo(request('ping', {}, { destination: ['b@h'] }), 'a@h')).toBe(false);
    expect(isAddressedTo(request('ping', {}, { destination: ['a@h', 'b@h'] }), 'a@h')).toBe(true);
    expect(isAddressedTo(request('ping', {}, { pattern: 'a*@h', matcher: 'glob' }), 'ab@h')).toBe(true);
    expect(isAddressedTo(request('ping', {}, { pattern: 'a?@h', matcher: 'glob' }), 'abc@h')).toBe(false);
    expect(isAddressedTo(request('ping', {}, { pattern: '[!b]*', matcher: 'glob' }), 'a@h')).toBe(true);
    // Python's re.match: anchored at the start, not at the end.
    expect(isAddressedTo(request('ping', {}, { pattern: 'w\\d', matcher: 'pcre' }), 'w1@host')).toBe(true);
    expect(isAddressedTo(request('ping', {}, { pattern: '\\d', matcher: 'pcre' }), 'w1@host')).toBe(false);
    expect(isAddressedTo(request('ping', {}, { pattern: 'x', matcher: 'nope' }), 'x')).toBe(false);
  });

  it('reads only request-shaped bodies, and keeps reply_to only with a ticket', () => {
    expect(parseControlRequest('ping')).toBeUndefined();
    expect(parseControlRequest({ arguments: {} })).toBeUndefined();
    expect(
      parseControlRequest({ method: 'ping', arguments: [1], reply_to: { exchange: 'x', routing_key: 'y' } }),
    ).toEqual(request('ping'));
    expect(
      parseControlRequest({ method: 'ping', ticket: 't', reply_to: { exchange: 'x', routing_key: 'y' } }),
    ).toMatchObject({ ticket: 't', reply_to: { exchange: 'x', routing_key: 'y' } });
  });

  it("names the mailbox as kombu: '<ns>.pidbox', 'reply.<ns>.pidbox', per-node and per-caller queues", () => {
    const names = mailboxNames('ctl');
    expect([names.exchange, names.replyExchange, names.nodeQueue('w@h'), names.replyQueue('oid')]).toEqual([
      'ctl.pidbox',
      'reply.ctl.pidbox',
      'w@h.ctl.pidbox',
      'oid.reply.ctl.pidbox',
    ]);
  });
});

describe('control dispatcher', () => {
  const target = (over: Partial<ControlTarget> = {}): ControlTarget => ({
    hostname: 'w@h',
    stats: () => ({ pid: 1, uptimeMs: 1500, concurrency: 4, prefetchCount: 4, totals: { t: 2 } }),
    registered: () => [
      { name: 'b.task' },
      { name: 'a.task', attributes: { rate_limit: '10/s' } },
      { name: 'celery.x' },
    ],
    active: () => [],
    reserved: () => [],
    revoked: () => [],
    queues: () => ['q1'],
    revoke: async () => [],
    setConcurrency: () => {},
    shutdown: () => {},
    ...over,
  });
  const broker = {
    transport: 'memory',
    hostname: 'h',
    port: null,
    virtual_host: null,
    userid: null,
    ssl: false,
  };
  const dispatch = (t: ControlTarget) => createControlDispatcher(t, { broker, clock: () => 7 });

  it("answers unknown commands and unsupported ones with Celery's error shapes", async () => {
    const d = dispatch(target());
    expect(await d(request('nope'))).toEqual({ error: "KeyError('nope')" });
    expect(await d(request('autoscale', { max: 2, min: 1 }))).toEqual({
      error: "ValueError('Autoscale not enabled')",
    });
    expect(await d(request('rate_limit', { task_name: 'a.task', rate_limit: 'x/s' }))).toEqual({
      error: `Invalid rate limit string: ValueError("could not convert string to float: 'x'")`,
    });
    expect(await d(request('rate_limit', { task_name: 'a.task', rate_limit: '5/s' }))).toEqual({
      error: 'rate limits are not supported by this worker yet',
    });
    expect(await d(request('enable_events'))).toEqual({ error: 'event dispatcher unavailable' });
  });

  it("restarts the pool on pool_restart in Celery's reply shape; a worker without one refuses as Celery", async () => {
    let restarts = 0;
    const restartable = dispatch(target({ restartPool: () => ++restarts > 0 }));
    const args = { modules: null, reload: false, reloader: null };
    expect(await restartable(request('pool_restart', args))).toEqual({ ok: 'reload started' });
    expect(restarts).toBe(1);
    expect(await dispatch(target())(request('pool_restart', args))).toEqual({
      error: "ValueError('Pool restarts not enabled')",
    });
  });

  it('lists registered tasks sorted, without builtins, with the attributes asked for', async () => {
    const d = dispatch(target());
    expect(await d(request('registered'))).toEqual(['a.task [rate_limit=10/s]', 'b.task']);
    expect(await d(request('dump_tasks', { builtins: true, taskinfoitems: ['queue'] }))).toEqual([
      'a.task',
      'b.task',
      'celery.x',
    ]);
  });

  it('replies to revoke as Celery does, and does not reply to shutdown', async () => {
    let revoked: readonly string[] = [];
    let stopped = false;
    const d = dispatch(
      target({
        revoke: async (ids, o) => {
          revoked = ids;
          return o.terminate ? ['b'] : [];
        },
        shutdown: () => {
          stopped = true;
        },
      }),
    );
    expect(await d(request('revoke', { task_id: 'a' }))).toEqual({ ok: "tasks {'a'} flagged as revoked" });
    expect(await d(request('revoke', { task_id: ['a', 'b'], terminate: true }))).toEqual({
      ok: 'terminate: b',
    });
    expect(revoked).toEqual(['a', 'b']);
    expect(await d(request('shutdown'))).toBe(NO_REPLY);
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(true);
  });

  it("builds Celery's stats reply: totals, clock as a string, pool, prefetch, rusage", async () => {
    const stats = (await dispatch(target())(request('stats'))) as Record<string, unknown>;
    expect(stats).toMatchObject({
      total: { t: 2 },
      pid: 1,
      clock: '7',
      uptime: 2,
      pool: { 'max-concurrency': 4, processes: [1] },
      broker: { transport: 'memory' },
      prefetch_count: 4,
    });
    expect(stats).not.toHaveProperty('autoscaler');
  });
});

describe('revoked set', () => {
  it('keeps at most `max` ids, dropping the oldest, and forgets ids after their ttl', () => {
    let now = 0;
    const set = new RevokedSet({ max: 2, ttlMs: 100, now: () => now });
    set.add(['a', 'b']);
    now = 10;
    set.add(['c']);
    expect(set.ids()).toEqual(['b', 'c']);
    now = 105;
    expect(set.has('b')).toBe(false);
    expect(set.has('c')).toBe(true);
    now = 200;
    expect(set.ids()).toEqual([]);
  });
});

describe('control over the in-memory transport', () => {
  const workers: Worker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 100 })));
  });

  it('a client pings, inspects and resizes a worker; the node stops with the worker', async () => {
    const bus = new MemoryControlBus();
    const add = defineTask({ name: 'unit.add', input: z.object({ x: z.number() }), output: z.number() });
    const tasks = [implement(add, ({ x }) => x + 1)];
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const worker = createWorker({
      broker,
      backend,
      tasks,
      hostname: 'unit@host',
      concurrency: 2,
      control: new MemoryControlTransport(bus),
    });
    workers.push(worker);
    await worker.start();
    const control = createControlClient(new MemoryControlTransport(bus), { timeoutMs: 200 });
    expect(await control.ping()).toEqual({ 'unit@host': { ok: 'pong' } });
    expect(
      await createClient({ broker, backend })
        .enqueue(add, { x: 1 })
        .then((h) => h.result()),
    ).toBe(2);
    const stats = await control.inspect().stats();
    expect(stats['unit@host']).toMatchObject({ total: { 'unit.add': 1 } });
    expect(await control.poolGrow(2)).toEqual({ 'unit@host': { ok: 'pool will grow' } });
    expect(worker.stats().concurrency).toBe(4);
    await worker.stop();
    expect(await control.ping()).toEqual({});
    await control.close();
  });
});

import { randomUUID } from 'node:crypto';
import { BrokerError, ClosedError, type ResultMeta, TaskState } from '@celeriac/core';
import { buildMeta, encodeJson } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { waitFor } from '@celeriac/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { backend, closeAll, REDIS_URL, raw } from './helpers.js';

const up = await requireService('redis', REDIS_URL);

/** Subscribers of a channel, as the server counts them. */
async function subscribers(channel: string): Promise<number> {
  const reply = (await raw().pubsub('NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

/** Connections whose CLIENT SETNAME is `name`. */
async function connectionsNamed(name: string): Promise<string[]> {
  const list = (await raw().client('LIST')) as string;
  return list
    .split('\n')
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /^id=(\d+)/.exec(line)?.[1] ?? '');
}

describe.skipIf(!up)('wait() over pub/sub', () => {
  afterEach(closeAll);

  it('never misses a result stored before or while the wait subscribes', async () => {
    const reader = backend();
    const writer = backend();
    const before = randomUUID();
    await writer.store(buildMeta(TaskState.SUCCESS, before, 'early'));
    expect((await reader.wait(before, { timeoutMs: 5000 })).result).toBe('early');
    // Store and wait in the same turn, 50 times: the store's PUBLISH usually beats the SUBSCRIBE.
    const ids = Array.from({ length: 50 }, () => randomUUID());
    const waits = ids.map((id) => reader.wait(id, { timeoutMs: 5000 }));
    await Promise.all(ids.map((id, i) => writer.store(buildMeta(TaskState.SUCCESS, id, i))));
    expect((await Promise.all(waits)).map((m) => m.result)).toEqual(ids.map((_, i) => i));
  });

  it('subscribes on a brand-new subscriber connection (the first wait of a process)', async () => {
    const reader = backend();
    const id = randomUUID();
    const waiting = reader.wait(id, { timeoutMs: 10_000 });
    // The channel must be subscribed at once, not only after the fallback poll retries it.
    await waitFor(async () => (await subscribers(`celery-task-meta-${id}`)) === 1, {
      timeoutMs: 2_000,
      what: 'subscription',
    });
    await backend().store(buildMeta(TaskState.SUCCESS, id, 'pushed'));
    expect((await waiting).result).toBe('pushed');
  });

  it('serves many waits from one subscriber connection and one subscription per id', async () => {
    const name = `celeriac-test-${randomUUID()}`;
    const reader = backend({ connectionName: name });
    const shared = randomUUID();
    const others = Array.from({ length: 50 }, () => randomUUID());
    const waits = [
      ...Array.from({ length: 50 }, () => reader.wait(shared, { timeoutMs: 10_000 })),
      ...others.map((id) => reader.wait(id, { timeoutMs: 10_000 })),
    ];
    await waitFor(() => reader.diagnostics().subscribedChannels === 51, { what: '51 subscriptions' });
    expect(reader.diagnostics()).toMatchObject({ subscriberConnections: 1, watchedTasks: 51, waiters: 100 });
    expect(await connectionsNamed(`${name}:sub`)).toHaveLength(1);
    expect(await subscribers(`celery-task-meta-${shared}`)).toBe(1);
    const writer = backend();
    await Promise.all(
      [shared, ...others].map((id) => writer.store(buildMeta(TaskState.SUCCESS, id, { id }))),
    );
    const metas = await Promise.all(waits);
    expect(metas.slice(0, 50).every((m) => (m.result as { id: string }).id === shared)).toBe(true);
    // Each waiter gets its own copy of the meta.
    expect(metas[0]).not.toBe(metas[1]);
    expect(reader.diagnostics()).toMatchObject({ subscribedChannels: 0, watchedTasks: 0, waiters: 0 });
    await waitFor(async () => (await subscribers(`celery-task-meta-${shared}`)) === 0, {
      what: 'UNSUBSCRIBE',
    });
  });

  it('unsubscribes once the last waiter for an id leaves', async () => {
    const reader = backend();
    const id = randomUUID();
    const channel = `celery-task-meta-${id}`;
    const first = new AbortController();
    const second = new AbortController();
    const a = reader.wait(id, { signal: first.signal }).catch((e: unknown) => e);
    const b = reader.wait(id, { signal: second.signal }).catch((e: unknown) => e);
    await waitFor(async () => (await subscribers(channel)) === 1, { what: 'SUBSCRIBE' });
    first.abort(new Error('first gave up'));
    expect(((await a) as Error).message).toBe('first gave up');
    expect(reader.diagnostics().waiters).toBe(1);
    expect(await subscribers(channel)).toBe(1);
    second.abort(new Error('second gave up'));
    expect(((await b) as Error).message).toBe('second gave up');
    await waitFor(async () => (await subscribers(channel)) === 0, { what: 'UNSUBSCRIBE' });
  });

  it('keeps the channel of an id watched again in the turn its last waiter left', async () => {
    // A slow poll, so only the subscription can deliver the result in time.
    const reader = backend({ waitPollIntervalMs: 60_000 });
    const id = randomUUID();
    const channel = `celery-task-meta-${id}`;
    const first = new AbortController();
    const a = reader.wait(id, { signal: first.signal }).catch((e: unknown) => e);
    await waitFor(async () => (await subscribers(channel)) === 1, { what: 'SUBSCRIBE' });
    // Another wait first, so the batched SUBSCRIBE of this turn is due before the UNSUBSCRIBE.
    const other = reader.wait(randomUUID(), { timeoutMs: 1000 }).catch((e: unknown) => e);
    first.abort(new Error('gave up'));
    const again = reader.wait(id, { timeoutMs: 20_000 });
    expect(((await a) as Error).message).toBe('gave up');
    // Past the turn in which the batched UNSUBSCRIBE would have gone out.
    await new Promise((r) => setTimeout(r, 200));
    expect(await subscribers(channel)).toBe(1);
    await backend().store(buildMeta(TaskState.SUCCESS, id, 'again'));
    expect((await again).result).toBe('again');
    expect(await other).toBeInstanceOf(Error);
    await waitFor(async () => (await subscribers(channel)) === 0, { what: 'UNSUBSCRIBE' });
  });

  it('rejects at once with the reason of an already aborted signal', async () => {
    const reason = new Error('already cancelled');
    const error = await backend()
      .wait(randomUUID(), { signal: AbortSignal.abort(reason) })
      .catch((e: unknown) => e);
    expect(error).toBe(reason);
  });

  it('is woken by a bare PUBLISH (what a Python worker sends) and ignores unready or foreign messages', async () => {
    const reader = backend({ waitPollIntervalMs: 600_000 });
    const [id, other] = [randomUUID(), randomUUID()];
    const key = `celery-task-meta-${id}`;
    let settled: ResultMeta | undefined;
    const waiting = reader.wait(id, { timeoutMs: 10_000 }).then((m) => {
      settled = m;
      return m;
    });
    const otherWait = reader.wait(other, { timeoutMs: 10_000 });
    await waitFor(() => reader.diagnostics().subscribedChannels === 2, { what: 'SUBSCRIBE' });
    const r = raw();
    await r.publish(key, encodeJson(buildMeta(TaskState.STARTED, id, { pid: 1, hostname: 'w' })));
    await r.publish(key, encodeJson(buildMeta(TaskState.RETRY, id, new Error('again'))));
    await r.publish(key, 'not a meta');
    // One connection delivers in order: once `other` resolves, the messages above were handled.
    await r.publish(`celery-task-meta-${other}`, encodeJson(buildMeta(TaskState.SUCCESS, other, 'marker')));
    expect((await otherWait).result).toBe('marker');
    expect(settled).toBeUndefined();
    await r.publish(key, encodeJson(buildMeta(TaskState.REVOKED, id, new Error('revoked'))));
    expect((await waiting).status).toBe('REVOKED');
  });

  it('fails a wait whose key holds something that is not a task meta', async () => {
    const id = randomUUID();
    await raw().set(`celery-task-meta-${id}`, '[1, 2]', 'EX', 60);
    const error = await backend()
      .wait(id, { timeoutMs: 5000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
  });

  it('falls back to polling when a result is written without PUBLISH', async () => {
    const reader = backend({ waitPollIntervalMs: 200 });
    const id = randomUUID();
    const waiting = reader.wait(id, { timeoutMs: 10_000 });
    await waitFor(() => reader.diagnostics().subscribedChannels === 1, { what: 'SUBSCRIBE' });
    await raw().set(
      `celery-task-meta-${id}`,
      encodeJson(buildMeta(TaskState.SUCCESS, id, 'polled')),
      'EX',
      60,
    );
    expect((await waiting).result).toBe('polled');
  });

  it('recovers a result published while its subscriber connection was down', async () => {
    const name = `celeriac-test-${randomUUID()}`;
    const reader = backend({ connectionName: name, waitPollIntervalMs: 600_000 });
    const id = randomUUID();
    const waiting = reader.wait(id, { timeoutMs: 20_000 });
    await waitFor(() => reader.diagnostics().subscribedChannels === 1, { what: 'SUBSCRIBE' });
    const [subId] = await connectionsNamed(`${name}:sub`);
    await raw().client('KILL', 'ID', subId as string);
    await backend().store(buildMeta(TaskState.SUCCESS, id, 'after reconnect'));
    expect((await waiting).result).toBe('after reconnect');
    expect(reader.diagnostics().subscriberConnections).toBe(1);
  });

  it('rejects pending and later calls with ClosedError after close()', async () => {
    const b = backend();
    const pending = b.wait(randomUUID()).catch((e: unknown) => e);
    await b.close();
    expect(await pending).toBeInstanceOf(ClosedError);
    expect(await b.wait(randomUUID()).catch((e: unknown) => e)).toBeInstanceOf(ClosedError);
    expect(
      await b.store(buildMeta(TaskState.SUCCESS, randomUUID(), 1)).catch((e: unknown) => e),
    ).toBeInstanceOf(ClosedError);
  });
});

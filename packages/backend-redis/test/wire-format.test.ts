import { randomUUID } from 'node:crypto';
import { BrokerError, TaskState } from '@celeriac/core';
import { buildMeta } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { waitFor } from '@celeriac/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { backend, closeAll, listen, REDIS_URL, raw } from './helpers.js';

const up = await requireService('redis', REDIS_URL);

describe.skipIf(!up)('Celery wire format', () => {
  afterEach(closeAll);

  it('stores a success under celery-task-meta-<id> with Celery’s fields, and publishes the same text', async () => {
    const b = backend();
    const id = randomUUID();
    const key = `celery-task-meta-${id}`;
    const channel = await listen(key);
    await b.store(buildMeta(TaskState.SUCCESS, id, 4));
    const text = await raw().get(key);
    expect(text).not.toBeNull();
    const stored = JSON.parse(text as string) as Record<string, unknown>;
    expect(Object.keys(stored)).toEqual([
      'status',
      'result',
      'traceback',
      'children',
      'date_done',
      'task_id',
    ]);
    expect(stored).toMatchObject({
      status: 'SUCCESS',
      result: 4,
      traceback: null,
      children: [],
      task_id: id,
    });
    expect(stored.date_done).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00$/);
    await waitFor(() => channel.messages.length === 1, { what: 'the PUBLISH' });
    expect(channel.messages[0]).toBe(text);
  });

  it('stores a failure as {exc_type, exc_message: [...], exc_module} with the traceback', async () => {
    const b = backend();
    const id = randomUUID();
    const error = new Error('boom 7');
    error.name = 'ValueError';
    await b.store(buildMeta(TaskState.FAILURE, id, error));
    const stored = JSON.parse((await raw().get(`celery-task-meta-${id}`)) as string) as Record<
      string,
      unknown
    >;
    expect(stored.status).toBe('FAILURE');
    expect(stored.result).toEqual({
      exc_type: 'ValueError',
      exc_message: ['boom 7'],
      exc_module: 'builtins',
    });
    expect(stored.traceback).toContain('boom 7');
  });

  it('keeps group_id, parent_id and extended fields, task_id last', async () => {
    const b = backend();
    const id = randomUUID();
    await b.store({
      ...buildMeta(TaskState.SUCCESS, id, 6),
      group_id: 'g1',
      parent_id: 'p1',
      name: 'tasks.add',
      args: [1, 2],
      kwargs: {},
      worker: 'w1@host',
      retries: 0,
      queue: 'celery',
    });
    const stored = JSON.parse((await raw().get(`celery-task-meta-${id}`)) as string) as Record<
      string,
      unknown
    >;
    expect(Object.keys(stored).at(-1)).toBe('task_id');
    expect(stored).toMatchObject({
      group_id: 'g1',
      parent_id: 'p1',
      name: 'tasks.add',
      args: [1, 2],
      queue: 'celery',
    });
  });

  it('reads metas written by Python Celery (verified examples), including kombu tags', async () => {
    const b = backend();
    const r = raw();
    const [ok, failed, minimal, tagged] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await r.set(
      `celery-task-meta-${ok}`,
      `{"status": "SUCCESS", "result": 4, "traceback": null, "children": [], "date_done": "2026-11-22T14:41:04.975876+00:00", "task_id": "${ok}"}`,
    );
    await r.set(
      `celery-task-meta-${failed}`,
      `{"status": "FAILURE", "result": {"exc_type": "ValueError", "exc_message": ["boom 7"], "exc_module": "builtins"}, "traceback": "Traceback (most recent call last):\\nValueError: boom 7\\n", "children": [], "date_done": "2026-11-22T14:41:04.981992+00:00", "task_id": "${failed}"}`,
    );
    await r.set(
      `celery-task-meta-${minimal}`,
      `{"status":"SUCCESS","result":{"x":1},"task_id":"${minimal}","date_done":"2024-01-01T00:00:00.000Z"}`,
    );
    await r.set(
      `celery-task-meta-${tagged}`,
      `{"status": "SUCCESS", "result": {"a": [{"__type__": "datetime", "__value__": "2024-01-02T03:04:05.678900+00:00"}], "u": {"__type__": "uuid", "__value__": {"hex": "12345678123456781234567812345678"}}, "n": NaN}, "traceback": null, "children": [], "date_done": "2026-11-22T14:41:04.975876+00:00", "task_id": "${tagged}"}`,
    );
    const [m1, m2, m3, m4] = await b.getMany([ok, failed, minimal, tagged]);
    expect(m1).toMatchObject({ status: 'SUCCESS', result: 4, task_id: ok });
    expect(m2?.result).toEqual({ exc_type: 'ValueError', exc_message: ['boom 7'], exc_module: 'builtins' });
    expect(m2?.traceback).toContain('ValueError: boom 7');
    // Fields a minimal writer leaves out get Celery's defaults.
    expect(m3).toMatchObject({ status: 'SUCCESS', result: { x: 1 }, traceback: null, children: [] });
    const result = m4?.result as { a: Date[]; u: string; n: null };
    expect(result.a[0]).toBeInstanceOf(Date);
    expect(result.a[0]?.toISOString()).toBe('2024-01-02T03:04:05.678Z');
    expect(result.u).toBe('12345678-1234-5678-1234-567812345678');
    expect(result.n).toBeNull();
    expect((await b.wait(tagged, { timeoutMs: 5000 })).status).toBe('SUCCESS');
  });

  it('applies Celery’s global_keyprefix to keys and channels', async () => {
    const b = backend({ globalKeyPrefix: 'tenant1' });
    const id = randomUUID();
    const channel = await listen(`tenant1_celery-task-meta-${id}`);
    await b.store(buildMeta(TaskState.SUCCESS, id, 'x'));
    expect(JSON.parse((await raw().get(`tenant1_celery-task-meta-${id}`)) as string).result).toBe('x');
    expect(await raw().exists(`celery-task-meta-${id}`)).toBe(0);
    await waitFor(() => channel.messages.length === 1, { what: 'the prefixed PUBLISH' });
  });

  it('rejects a value that is not a task meta with a non-retriable BrokerError', async () => {
    const b = backend();
    const id = randomUUID();
    await raw().set(`celery-task-meta-${id}`, 'not json');
    const error = await b.get(id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).retriable).toBe(false);
  });
});

import { randomUUID } from 'node:crypto';
import { TaskState } from '@celeriac/core';
import { buildMeta } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { waitFor } from '@celeriac/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisResultBackend } from '../src/index.js';
import { backend, closeAll, listen, REDIS_URL, raw } from './helpers.js';

const up = await requireService('redis', REDIS_URL);

describe.skipIf(!up)('TTL, persist mode and idempotent stores', () => {
  afterEach(closeAll);

  it('expires results after one day by default (SETEX 86400, as Celery)', async () => {
    const id = randomUUID();
    await backend().store(buildMeta(TaskState.SUCCESS, id, 1));
    const ttl = await raw().ttl(`celery-task-meta-${id}`);
    expect(ttl).toBeGreaterThan(86_390);
    expect(ttl).toBeLessThanOrEqual(86_400);
  });

  it('uses the configured TTL, and a per-call TTL over it (sub-second TTLs in ms)', async () => {
    const b = backend({ ttlMs: 3_600_000 });
    const [a, c] = [randomUUID(), randomUUID()];
    await b.store(buildMeta(TaskState.SUCCESS, a, 1));
    await b.store(buildMeta(TaskState.SUCCESS, c, 1), { ttlMs: 90_500 });
    const r = raw();
    const ttlA = await r.ttl(`celery-task-meta-${a}`);
    expect(ttlA).toBeGreaterThan(3590);
    expect(ttlA).toBeLessThanOrEqual(3600);
    const pttlC = await r.pttl(`celery-task-meta-${c}`);
    expect(pttlC).toBeGreaterThan(80_000);
    expect(pttlC).toBeLessThanOrEqual(90_500);
  });

  it('keeps results forever in persist mode (option, URL parameter, or ttlMs: 0 per call)', async () => {
    const byOption = backend({ persist: true });
    const byUrl = new RedisResultBackend({ url: `${REDIS_URL}?persist=true` });
    const ids = [randomUUID(), randomUUID(), randomUUID()] as const;
    try {
      await byOption.store(buildMeta(TaskState.SUCCESS, ids[0], 1));
      await byUrl.store(buildMeta(TaskState.SUCCESS, ids[1], 1));
      await backend().store(buildMeta(TaskState.SUCCESS, ids[2], 1), { ttlMs: 0 });
      const r = raw();
      for (const id of ids) expect(await r.ttl(`celery-task-meta-${id}`)).toBe(-1);
      // A later store without a TTL clears an earlier one too (plain SET).
      await backend().store(buildMeta(TaskState.STARTED, ids[0], null));
      expect(await r.ttl(`celery-task-meta-${ids[0]}`)).toBe(-1);
    } finally {
      await byUrl.close();
      await raw().del(...ids.map((id) => `celery-task-meta-${id}`));
    }
  });

  it('never overwrites a SUCCESS, and does not publish the rejected write', async () => {
    const b = backend();
    const id = randomUUID();
    const key = `celery-task-meta-${id}`;
    const channel = await listen(key);
    await b.store(buildMeta(TaskState.STARTED, id, { pid: 1, hostname: 'w' }));
    await b.store(buildMeta(TaskState.SUCCESS, id, 'first'));
    const before = await raw().get(key);
    await b.store(buildMeta(TaskState.FAILURE, id, new Error('duplicate delivery')));
    await b.store(buildMeta(TaskState.SUCCESS, id, 'second'));
    expect(await raw().get(key)).toBe(before);
    // Messages on one channel arrive in order: once our marker is in, nothing else is on its way.
    await raw().publish(key, '"marker"');
    await waitFor(() => channel.messages.includes('"marker"'), { what: 'the marker' });
    expect(channel.messages.map((m) => (m === '"marker"' ? 'marker' : JSON.parse(m).status))).toEqual([
      'STARTED',
      'SUCCESS',
      'marker',
    ]);
    expect(b.diagnostics().storesKeptSuccess).toBe(2);
  });

  it('does not overwrite a SUCCESS written by Python (spaced JSON)', async () => {
    const id = randomUUID();
    const key = `celery-task-meta-${id}`;
    const python = `{"status": "SUCCESS", "result": 4, "traceback": null, "children": [], "date_done": "2026-11-22T14:41:04.975876+00:00", "task_id": "${id}"}`;
    await raw().set(key, python);
    await backend().store(buildMeta(TaskState.FAILURE, id, new Error('late')));
    expect(await raw().get(key)).toBe(python);
  });

  it('keeps a FAILURE or REVOKED: ready states are final (a retry stores RETRY, never FAILURE)', async () => {
    const b = backend();
    const id = randomUUID();
    await b.store(buildMeta(TaskState.RETRY, id, new Error('first attempt')));
    await b.store(buildMeta(TaskState.FAILURE, id, new Error('second attempt')));
    await b.store(buildMeta(TaskState.SUCCESS, id, 'abandoned attempt finished late'));
    expect((await b.get(id))?.status).toBe('FAILURE');
    const key = `celery-task-meta-${randomUUID()}`;
    const python = `{"status": "REVOKED", "result": {"exc_type": "TaskRevokedError", "exc_message": ["terminated"], "exc_module": "celery.exceptions"}, "traceback": null, "children": [], "date_done": null, "task_id": "x"}`;
    await raw().set(key, python);
    await b.store(buildMeta(TaskState.SUCCESS, key.slice('celery-task-meta-'.length), 'late'));
    expect(await raw().get(key)).toBe(python);
  });
});

import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { NonRetriableError, TaskState } from '@celeriac/core';
import { buildMeta } from '@celeriac/core/adapter';
import { requireCelery, requireService } from '@celeriac/test-services';
import { waitFor } from '@celeriac/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { backend, closeAll, REDIS_URL, raw } from './helpers.js';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('./fixtures/celery-interop.py', import.meta.url));
const PYTHON = requireCelery();
const up = (await requireService('redis', REDIS_URL)) && PYTHON !== '';

interface PythonOutcome {
  readonly ok: boolean;
  readonly value?: unknown;
  readonly type?: string;
  readonly args?: unknown[];
}

async function python(command: string, id: string, arg?: string): Promise<PythonOutcome> {
  const { stdout } = await run(
    PYTHON,
    [SCRIPT, REDIS_URL, command, id, ...(arg === undefined ? [] : [arg])],
    {
      timeout: 20_000,
    },
  );
  return JSON.parse(stdout) as PythonOutcome;
}

/** Resolves once a Python client subscribed to the task's channel (it is then waiting). */
async function pythonSubscribed(id: string): Promise<void> {
  await waitFor(
    async () => Number(((await raw().pubsub('NUMSUB', `celery-task-meta-${id}`)) as [string, number])[1]) > 0,
    { what: 'the Python client to subscribe', timeoutMs: 15_000 },
  );
}

describe.skipIf(!up)('interop with Python Celery’s Redis backend', () => {
  afterEach(closeAll);

  it('Python reads a success we stored, including a tagged datetime', async () => {
    const id = randomUUID();
    await backend().store(
      buildMeta(TaskState.SUCCESS, id, { n: 4, when: new Date('2024-01-02T03:04:05.678Z') }),
    );
    expect(await python('get', id)).toEqual({
      ok: true,
      value: { n: 4, when: { datetime: '2024-01-02T03:04:05.678000+00:00' } },
    });
  });

  it('a Python client already waiting is woken by our PUBLISH', async () => {
    const id = randomUUID();
    const pending = python('get', id);
    await pythonSubscribed(id);
    await backend().store(buildMeta(TaskState.SUCCESS, id, 'pushed'));
    expect(await pending).toEqual({ ok: true, value: 'pushed' });
  });

  it('Python raises builtins.ValueError for our ValueError failure, and a named class for others', async () => {
    const [id1, id2] = [randomUUID(), randomUUID()];
    const valueError = new Error('bad input 7');
    valueError.name = 'ValueError';
    const b = backend();
    await b.store(buildMeta(TaskState.FAILURE, id1, valueError));
    await b.store(buildMeta(TaskState.FAILURE, id2, new NonRetriableError('no retry')));
    expect(await python('get', id1)).toEqual({
      ok: false,
      type: 'builtins.ValueError',
      args: ['bad input 7'],
    });
    const other = await python('get', id2);
    expect(other.ok).toBe(false);
    expect(other.type).toMatch(/\.NonRetriableError$/);
    expect(other.args?.[0]).toBe('no retry');
  });

  it('we read a success Python stored, with its datetime decoded to a Date', async () => {
    const id = randomUUID();
    await python('store-success', id, 'datetime');
    const meta = await backend().get(id);
    expect(meta?.status).toBe('SUCCESS');
    expect((meta?.result as { when: Date } | undefined)?.when).toEqual(new Date('2024-01-02T03:04:05.678Z'));
    expect(meta?.task_id).toBe(id);
  });

  it('our wait is woken by Python’s store_result, and reads mark_as_failure in Celery form', async () => {
    const [ok, failed] = [randomUUID(), randomUUID()];
    const b = backend({ waitPollIntervalMs: 600_000 });
    const waiting = b.wait(ok, { timeoutMs: 15_000 });
    await waitFor(() => b.diagnostics().subscribedChannels === 1, { what: 'SUBSCRIBE' });
    await python('store-success', ok, JSON.stringify({ from: 'python', list: [1, 2] }));
    expect((await waiting).result).toEqual({ from: 'python', list: [1, 2] });

    await python('store-failure', failed, 'python says no');
    const meta = await b.wait(failed, { timeoutMs: 5000 });
    expect(meta.status).toBe('FAILURE');
    expect(meta.result).toEqual({
      exc_type: 'ValueError',
      exc_message: ['python says no'],
      exc_module: 'builtins',
    });
  });

  it('Python keeps our SUCCESS and we keep Python’s (dedup works both ways)', async () => {
    const [ours, theirs] = [randomUUID(), randomUUID()];
    const b = backend();
    await b.store(buildMeta(TaskState.SUCCESS, ours, 'ours'));
    await python('store-failure', ours, 'late python duplicate');
    expect((await b.get(ours))?.result).toBe('ours');
    await python('store-success', theirs, '"theirs"');
    await b.store(buildMeta(TaskState.FAILURE, theirs, new Error('late ts duplicate')));
    expect((await b.get(theirs))?.result).toBe('theirs');
  });
});

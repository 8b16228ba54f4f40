import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { DecodeError, RemoteTaskError } from '../src/errors.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import { createClient } from '../src/producer/index.js';
import { decodeTaskMessage, type WireParts } from '../src/wire.js';
import { createWorker, implement, type Worker } from '../src/worker/index.js';

// Item 4 of the reliability issue: a message that does not decode but names its task id gets a
// FAILURE under that id, so its caller fails fast instead of waiting forever.

const echo = defineTask({ name: 'bad-input.echo', input: z.object({}), output: z.number() });

function decodeFailure(parts: WireParts): DecodeError {
  try {
    decodeTaskMessage(parts);
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError);
    return error as DecodeError;
  }
  throw new Error('decoded');
}

describe('the id of a message that does not decode', () => {
  it.each<[string, WireParts]>([
    [
      'a pickle body',
      {
        headers: { id: 'p1', task: 't' },
        body: '\u0080\u0004',
        contentType: 'application/x-python-serialize',
      },
    ],
    ['a YAML body', { headers: { id: 'p1', task: 't' }, body: '- 1', contentType: 'application/x-yaml' }],
    ['a body that is not JSON', { headers: { id: 'p1', task: 't' }, body: 'not json' }],
    ['no task name', { headers: { id: 'p1' }, body: '[[], {}, null]' }],
    ['a body that is not a list', { headers: { id: 'p1', task: 't' }, body: '{"a": 1}' }],
    ['a body of the wrong length', { headers: { id: 'p1', task: 't' }, body: '[[]]' }],
    ['args that are not a list', { headers: { id: 'p1', task: 't' }, body: '[1, {}, null]' }],
    ['kwargs that are not an object', { headers: { id: 'p1', task: 't' }, body: '[[], 1, null]' }],
    ['a v1 body without a task name', { headers: {}, body: '{"id": "p1", "args": []}' }],
  ])('is read from %s', (_, parts) => {
    expect(decodeFailure(parts).taskId).toBe('p1');
  });

  it('is absent when the message names none', () => {
    expect(decodeFailure({ headers: { task: 't' }, body: '[[], {}, null]' }).taskId).toBeUndefined();
    expect(decodeFailure({ headers: 'x', body: 'garbage' }).taskId).toBeUndefined();
  });
});

describe('a worker given an undecodable message with an id', () => {
  const workers: Worker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 100 })));
  });

  it.each([
    ['no task name', { headers: { id: 'ID' }, body: [[], {}, null] }],
    ['a body that is not [args, kwargs, embed]', { headers: { id: 'ID', task: echo.name }, body: 'oops' }],
  ])('with %s stores FAILURE under the id and dead-letters it', async (_, envelope) => {
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const worker = createWorker({ broker, backend, tasks: [implement(echo, () => 1)] });
    workers.push(worker);
    const rejected: (string | null)[] = [];
    worker.on('task-rejected', (e) => rejected.push(e.uuid));
    await worker.start();
    const id = `malformed-${Math.random()}`;
    broker.injectRaw('celery', JSON.stringify(envelope).replace('"ID"', JSON.stringify(id)));
    const handle = createClient({ broker, backend }).handle(echo, id);
    const error = await handle.result({ timeoutMs: 5_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RemoteTaskError);
    expect((error as RemoteTaskError).remote.excType).toBe('DecodeError');
    expect((error as RemoteTaskError).remote.excMessage).toContain('MESSAGE_UNDECODABLE');
    const [letter] = await broker.readDeadLetters('celery');
    expect(letter?.reason.code).toBe('MESSAGE_UNDECODABLE');
    expect(rejected).toEqual([id]);
  });
});

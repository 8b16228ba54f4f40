import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { OutgoingMessage } from '../src/broker.js';
import { defineTask } from '../src/contract.js';
import { ValidationError } from '../src/errors.js';
import { createTaskMessage } from '../src/message.js';
import { createClient } from '../src/producer/index.js';
import { RETRY_POLICY_HEADER } from '../src/retry-policy.js';
import { RecordingBroker } from './recording-broker.js';

/** The in-memory broker, recording what it is given. */
function recordingBroker(): { broker: RecordingBroker; sent: OutgoingMessage[]; batches: number[] } {
  const broker = new RecordingBroker();
  return { broker, sent: broker.sent, batches: broker.batches };
}

const add = defineTask({
  name: 'unit.add',
  input: z.object({ x: z.number(), y: z.number() }),
  output: z.number(),
  defaults: { queue: 'math', priority: 2, retry: { max: 3 }, timeoutMs: 5_000 },
});

describe('producer client messages', () => {
  it('sends the input as kwargs with the contract defaults and no delay', async () => {
    const { broker, sent } = recordingBroker();
    const handle = await createClient({ broker }).enqueue(add, { x: 1, y: 2 });
    expect(sent).toHaveLength(1);
    const [out] = sent;
    expect(Object.keys(out ?? {})).toEqual(['queue', 'message']);
    const m = out?.message;
    expect(out?.queue).toBe('math');
    expect(m?.headers.id).toBe(handle.id);
    expect(m?.headers.root_id).toBe(handle.id);
    expect(m?.headers.parent_id).toBeNull();
    expect(m?.headers.argsrepr).toBe('[]');
    expect(m?.headers.kwargsrepr).toBe('{"x":1,"y":2}');
    expect(m?.headers.timelimit).toEqual([5, null]);
    expect(m?.headers[RETRY_POLICY_HEADER]).toEqual({ max: 3 });
    expect(m?.headers.eta).toBeNull();
    expect(m?.headers.expires).toBeNull();
    expect(m?.properties.priority).toBe(2);
    expect(m?.body).toEqual([
      [],
      { x: 1, y: 2 },
      { callbacks: null, errbacks: null, chain: null, chord: null },
    ]);
  });

  it('applies per-call options over the defaults, leaving the caller’s headers untouched', async () => {
    const { broker, sent } = recordingBroker();
    const headers = { 'x-tenant': 'a' };
    const before = Date.now();
    await createClient({ broker }).enqueue(
      add,
      { x: 1, y: 2 },
      {
        queue: 'other',
        taskId: 'fixed-id',
        rootId: 'root',
        parentId: 'parent',
        priority: 7,
        delayMs: 60_000,
        expiresMs: 120_000,
        headers,
        orderingKey: 'k',
      },
    );
    const [out] = sent;
    const m = out?.message;
    expect(out?.queue).toBe('other');
    expect(out?.orderingKey).toBe('k');
    expect(out?.delayMs).toBeGreaterThan(0);
    expect(m?.headers.id).toBe('fixed-id');
    expect(m?.headers.root_id).toBe('root');
    expect(m?.headers.parent_id).toBe('parent');
    expect(m?.properties.priority).toBe(7);
    expect(Date.parse(m?.headers.eta ?? '')).toBeGreaterThanOrEqual(before + 60_000);
    expect(Date.parse(m?.headers.expires ?? '')).toBeGreaterThanOrEqual(before + 120_000);
    expect(m?.headers['x-tenant']).toBe('a');
    expect(m?.headers[RETRY_POLICY_HEADER]).toEqual({ max: 3 });
    expect(headers).toEqual({ 'x-tenant': 'a' });
  });

  it('treats empty ids as unset, as before', async () => {
    const { broker, sent } = recordingBroker();
    await createClient({ broker }).send('py.task', { args: [1] }, { taskId: '', rootId: '', parentId: '' });
    const m = sent[0]?.message;
    expect(m?.headers.id).not.toBe('');
    expect(m?.headers.root_id).toBe(m?.headers.id);
    expect(m?.headers.parent_id).toBeNull();
    expect(m?.headers.argsrepr).toBe('[1]');
    expect(m?.properties.priority).toBeNull();
  });

  it('rejects invalid input before publishing anything, one call or many', async () => {
    const { broker, sent } = recordingBroker();
    const client = createClient({ broker });
    await expect(client.enqueue(add, { x: 1 } as never)).rejects.toThrow(ValidationError);
    await expect(client.enqueueMany(add, [{ x: 1, y: 2 }, { x: 'no' } as never])).rejects.toThrow(
      ValidationError,
    );
    expect(sent).toHaveLength(0);
  });

  it('publishes enqueueMany in batches of batchSize', async () => {
    const { broker, sent, batches } = recordingBroker();
    const client = createClient({ broker, batchSize: 2 });
    const inputs = Array.from({ length: 5 }, (_, i) => ({ x: i, y: i }));
    const handles = await client.enqueueMany(add, inputs);
    expect(batches).toEqual([2, 2, 1]);
    expect(sent.map((o) => o.message.headers.id)).toEqual(handles.map((h) => h.id));
    await createClient({ broker }).enqueueMany(add, []);
    expect(batches).toEqual([2, 2, 1]);
  });
});

describe('createTaskMessage extra headers', () => {
  it('puts extra headers first and never lets them override the standard ones', () => {
    const m = createTaskMessage({ task: 't', headers: { 'x-a': 1, retries: 99, task: 'spoof' } });
    expect(Object.keys(m.headers).slice(0, 3)).toEqual(['x-a', 'retries', 'task']);
    expect(m.headers.retries).toBe(0);
    expect(m.headers.task).toBe('t');
    const plain = createTaskMessage({ task: 't', headers: {} });
    expect(Object.keys(plain.headers)[0]).toBe('lang');
  });
});

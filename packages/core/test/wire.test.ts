import { describe, expect, it } from 'vitest';
import { DecodeError } from '../src/errors.js';
import { createTaskMessage } from '../src/message.js';
import { decodeTaskMessage, encodeBody } from '../src/wire.js';

const verifiedHeaders = {
  lang: 'py',
  task: 'tasks.add',
  id: '56c3b1fc-891b-4f65-861b-c2686d281464',
  shadow: null,
  eta: '2026-11-22T14:40:51.753282+00:00',
  expires: '2026-11-22T14:41:41.753282+00:00',
  group: null,
  group_index: null,
  retries: 0,
  timelimit: [30, 20],
  root_id: '56c3b1fc-891b-4f65-861b-c2686d281464',
  parent_id: null,
  argsrepr: '(2, 2)',
  kwargsrepr: '{}',
  origin: 'gen14913@vm',
  ignore_result: false,
  replaced_task_nesting: 0,
  stamped_headers: null,
  stamps: {},
};

describe('decodeTaskMessage', () => {
  it('decodes the message a Python producer sends (verified sample)', () => {
    const m = decodeTaskMessage({
      headers: verifiedHeaders,
      properties: { correlation_id: verifiedHeaders.id, priority: 5, delivery_mode: 2 },
      body: '[[2, 2], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]',
    });
    expect(m.headers.task).toBe('tasks.add');
    expect(m.headers.timelimit).toEqual([30, 20]);
    expect(m.body).toEqual([[2, 2], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]);
    expect(m.properties.priority).toBe(5);
  });

  it('accepts the smallest message a Python worker accepts (embed null, few headers)', () => {
    const m = decodeTaskMessage({
      headers: { lang: 'js', task: 'tasks.echo', id: 'e76c' },
      body: '[[1], {"k": "v"}, null]',
    });
    expect(m.headers.root_id).toBe('e76c');
    expect(m.headers.retries).toBe(0);
    expect(m.body).toEqual([[1], { k: 'v' }, null]);
  });

  it('fills sparse headers into one fixed layout: known headers first, any other header after', () => {
    const sparse = JSON.parse(
      '{"x-trace":"t1","task":"tasks.echo","retries":"3","id":"e76c","__proto__":{"polluted":true}}',
    );
    const m = decodeTaskMessage({ headers: sparse, body: '[[], {}, null]' });
    const full = decodeTaskMessage({ headers: verifiedHeaders, body: '[[], {}, null]' });
    // The same key order whichever fields the wire carried, so every message's headers share a shape.
    expect(Object.keys(m.headers)).toEqual([...Object.keys(full.headers), 'x-trace', '__proto__']);
    expect(Object.keys(full.headers)).toEqual(Object.keys(verifiedHeaders));
    expect(m.headers).toMatchObject({ lang: 'py', retries: 0, root_id: 'e76c', stamps: {} });
    expect(m.headers['x-trace']).toBe('t1');
    // A `__proto__` key from JSON stays a plain key: the headers' prototype is untouched.
    expect(Object.getPrototypeOf(m.headers)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(m.headers, '__proto__')?.value).toEqual({ polluted: true });
    expect((m.headers as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('fills a partial embed into one fixed layout, links checked, any other key after', () => {
    const m = decodeTaskMessage({
      headers: { task: 't', id: 'i' },
      body: '[[], {}, {"x-note": 1, "errbacks": [], "chord": "not a signature"}]',
    });
    expect(m.body[2]).toEqual({ callbacks: null, errbacks: [], chain: null, chord: null, 'x-note': 1 });
    expect(Object.keys(m.body[2] ?? {})).toEqual(['callbacks', 'errbacks', 'chain', 'chord', 'x-note']);
  });

  it('converts a protocol v1 body', () => {
    const m = decodeTaskMessage({
      headers: {},
      body: { task: 'celery.ping', id: 'abc', args: [], kwargs: { a: 1 }, retries: 2 },
    });
    expect(m.headers.task).toBe('celery.ping');
    expect(m.headers.retries).toBe(2);
    expect(m.body[1]).toEqual({ a: 1 });
  });

  it('converts a hybrid message (v2 headers, dict body)', () => {
    const m = decodeTaskMessage({ headers: { task: 't', id: 'i' }, body: { args: [1], kwargs: {} } });
    expect(m.body[0]).toEqual([1]);
  });

  it.each([
    [{ headers: { task: 't', id: 'i' }, body: 'not json' }, 'not valid JSON'],
    [{ headers: { task: 't', id: 'i' }, body: '{"a": 1}' }, 'is not [args, kwargs, embed]'],
    [{ headers: { task: 't', id: 'i' }, body: '[[], {}, {}, 4]' }, 'has 4 elements'],
    [{ headers: { task: 't' }, body: '[[], {}, {}]' }, 'has no id'],
    [{ headers: { task: 't', id: 'i' }, body: '[{}, {}, {}]' }, 'args of task t is not an array'],
    [{ headers: { task: 't', id: 'i' }, body: '[[], [], {}]' }, 'kwargs of task t is not an object'],
    [{ headers: {}, body: '[[], {}, {}]' }, 'no task name'],
    [
      { headers: { task: 't', id: 'i' }, body: '[]', contentType: 'application/x-python-serialize' },
      'refusing to deserialize',
    ],
  ])('rejects %j with a DecodeError (%s)', (parts, reason) => {
    let error: unknown;
    try {
      decodeTaskMessage(parts);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as DecodeError).code).toBe('MESSAGE_UNDECODABLE');
    expect((error as DecodeError).message).toContain(reason);
  });
});

describe('createTaskMessage', () => {
  it('sends every header Celery sends, with timelimit as [hard, soft] and offset dates', () => {
    const eta = new Date('2026-01-01T00:00:00.000Z');
    const m = createTaskMessage({
      task: 'demo.add',
      kwargs: { x: 1 },
      eta,
      timeLimitMs: 30_000,
      softTimeLimitMs: 20_000,
      priority: 12,
    });
    expect(Object.keys(m.headers).sort()).toEqual(Object.keys(verifiedHeaders).sort());
    expect(m.headers.lang).toBe('js');
    expect(m.headers.timelimit).toEqual([30, 20]);
    expect(m.headers.eta).toBe('2026-01-01T00:00:00.000+00:00');
    expect(m.headers.root_id).toBe(m.headers.id);
    expect(m.properties).toMatchObject({ correlation_id: m.headers.id, delivery_mode: 2, priority: 9 });
    expect(JSON.parse(encodeBody(m))).toEqual([
      [],
      { x: 1 },
      { callbacks: null, errbacks: null, chain: null, chord: null },
    ]);
  });
});

describe('createTaskMessage with extra headers', () => {
  it('keeps them first, as plain keys, under the standard ones, message after message', () => {
    const extra = () => JSON.parse('{"x-trace":"t1","retries":7,"__proto__":{"polluted":true}}');
    const [a, b] = [
      createTaskMessage({ task: 't', headers: extra() }),
      createTaskMessage({ task: 't', headers: extra() }),
    ];
    const standard = Object.keys(createTaskMessage({ task: 't' }).headers).filter((k) => k !== 'retries');
    expect(Object.keys(a.headers)).toEqual(['x-trace', 'retries', '__proto__', ...standard]);
    expect(Object.keys(b.headers)).toEqual(Object.keys(a.headers));
    expect(a.headers.retries).toBe(0);
    expect(Object.getPrototypeOf(a.headers)).toBe(Object.prototype);
    expect((a.headers as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('encodeBody', () => {
  it('writes a kwargs-only call as the whole body would be written, kombu tags included', async () => {
    const { encodeJson } = await import('../src/json-codec.js');
    const when = new Date('2026-01-02T03:04:05.678Z');
    const plain = createTaskMessage({ task: 't', kwargs: { x: 1, s: 'a"b' } });
    const tagged = createTaskMessage({ task: 't', kwargs: { when, bytes: new Uint8Array([1, 2]) } });
    const canvas = createTaskMessage({ task: 't', kwargs: { x: 1 } });
    canvas.body[2] = { callbacks: [], errbacks: null, chain: null, chord: null };
    for (const m of [plain, tagged, canvas]) expect(encodeBody(m)).toBe(encodeJson(m.body));
    expect(JSON.parse(encodeBody(tagged))[1].when).toEqual({
      __type__: 'datetime',
      __value__: '2026-01-02T03:04:05.678+00:00',
    });
  });
});

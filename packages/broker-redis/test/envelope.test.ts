import { DecodeError, type TaskMessage } from '@celeriac/core';
import { createTaskMessage, encodeBody } from '@celeriac/core/adapter';
import { describe, expect, it } from 'vitest';
import {
  decodeEnvelope,
  encodeEnvelope,
  fromWirePriority,
  stepForWire,
  toWirePriority,
} from '../src/index.js';

describe('kombu envelope', () => {
  it('round-trips a message, priority included', () => {
    const message = createTaskMessage({
      task: 'tasks.add',
      args: [1, 'é'],
      kwargs: { when: new Date(0) },
      priority: 7,
    });
    const { raw, step } = encodeEnvelope('celery', message);
    expect(step).toBe(0); // core 7 → kombu 2 → step 0
    expect(decodeEnvelope(raw)).toEqual(message);
  });

  it('maps priorities both ways: core 9 is kombu 0, a missing kombu priority is kombu 0', () => {
    expect([0, 1, 4, 5, 9].map(toWirePriority)).toEqual([9, 8, 5, 4, 0]);
    expect([0, 3, 5, 9, undefined, 'x', 42, -3].map(fromWirePriority)).toEqual([9, 6, 4, 0, 9, 9, 0, 9]);
    expect([0, 2, 3, 5, 6, 8, 9].map(stepForWire)).toEqual([0, 0, 3, 3, 6, 6, 9]);
  });

  it('puts a message with no priority on the main list, next to what Python producers send by default', () => {
    const message = createTaskMessage({ task: 'tasks.add' });
    expect(message.properties.priority).toBeNull();
    const { raw, step } = encodeEnvelope('celery', message);
    expect(step).toBe(0);
    expect((JSON.parse(raw) as { properties: { priority: number } }).properties.priority).toBe(0);
    expect(toWirePriority(null)).toBe(0);
  });

  it('refuses what a Celery worker would refuse', () => {
    const pickled = JSON.stringify({
      body: 'gAN9',
      'content-type': 'application/x-python-serialize',
      headers: { task: 't', id: 'i' },
    });
    expect(() => decodeEnvelope(pickled)).toThrow(DecodeError);
    expect(() => decodeEnvelope('[1, 2]')).toThrow(DecodeError);
    expect(() => decodeEnvelope('{"body": 12, "properties": {"body_encoding": "base64"}}')).toThrow(
      DecodeError,
    );
    expect(() => decodeEnvelope('not json')).toThrow(/JSON envelope/);
  });
});

describe('kombu envelope text', () => {
  /** What the envelope was before it was written by hand: JSON.stringify of the object. */
  function reference(queue: string, message: TaskMessage, deliveryTag: string): string {
    const wire = toWirePriority(message.properties.priority);
    return JSON.stringify({
      body: Buffer.from(encodeBody(message), 'utf8').toString('base64'),
      'content-encoding': 'utf-8',
      'content-type': 'application/json',
      headers: message.headers,
      properties: {
        correlation_id: message.properties.correlation_id,
        reply_to: message.properties.reply_to,
        delivery_mode: message.properties.delivery_mode,
        delivery_info: { exchange: '', routing_key: queue },
        priority: wire,
        body_encoding: 'base64',
        delivery_tag: deliveryTag,
      },
    });
  }

  it('is byte for byte what JSON.stringify gives, odd names and ids included', () => {
    const cases: [string, TaskMessage][] = [
      ['celery', createTaskMessage({ task: 'tasks.add', args: [1, 'é'], kwargs: { when: new Date(0) } })],
      ['q"uo\\te\u0001', createTaskMessage({ task: 't', id: 'id "with" quotes', priority: 3 })],
      ['été ☃', createTaskMessage({ task: 't', id: 'a/b:c@d+e-f.g_h', headers: { x: 1, retries: 4 } })],
      ['lone \ud800', createTaskMessage({ task: 't', id: '\ud800', kwargs: { s: '\u2028' } })],
      // Kwargs only, with values kombu tags, and with a canvas: both ways of writing the body.
      ['tags', createTaskMessage({ task: 't', kwargs: { at: new Date(0), raw: new Uint8Array([0xff, 1]) } })],
      ['link', createTaskMessage({ task: 't', kwargs: { x: 1 }, embed: { chain: [] } })],
      ['no-embed', createTaskMessage({ task: 't', kwargs: { x: 1 }, embed: null })],
    ];
    for (const [queue, message] of cases) {
      const { raw, deliveryTag } = encodeEnvelope(queue, message);
      expect(raw).toBe(reference(queue, message, deliveryTag));
      const decoded = decodeEnvelope(raw);
      expect(decoded.headers).toEqual(message.headers);
      expect(decoded.body).toEqual(message.body);
    }
  });

  it('still writes valid JSON for a hand-made message with missing or unusual properties', () => {
    const base = createTaskMessage({ task: 't' });
    const odd = {
      ...base,
      properties: { ...base.properties, reply_to: undefined, delivery_mode: 7 },
    } as unknown as TaskMessage;
    const { raw, deliveryTag } = encodeEnvelope('celery', odd);
    expect(raw).toBe(reference('celery', odd, deliveryTag));
    expect(JSON.parse(raw).properties).not.toHaveProperty('reply_to');
  });
});

import { createTaskMessage, DecodeError } from '@celeriac/core';
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

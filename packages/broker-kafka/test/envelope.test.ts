import { createTaskMessage } from '@celeriac/core/adapter';
import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeTaskRecord, rawText } from '../src/record-codec.js';

// Pure logic, no broker: the envelope header carries only what differs from Celery's defaults.

function envelopeOf(record: { headers: Record<string, string> }): {
  headers: Record<string, unknown>;
  properties: Record<string, unknown>;
} {
  return JSON.parse(record.headers['celeriac.envelope'] as string);
}

function roundTrip(message: ReturnType<typeof createTaskMessage>) {
  const record = encodeTaskRecord('q', { queue: 'q', message });
  const decoded = decodeRecord({ headers: record.headers, value: Buffer.from(record.value as string) });
  if (decoded.kind !== 'task') throw new Error(`not decoded: ${decoded.error.message}`);
  return { record, decoded: decoded.message };
}

describe('sparse envelope', () => {
  it('leaves out headers and properties that hold the protocol default, and decodes them back', () => {
    const message = createTaskMessage({ task: 'a.b', kwargs: { i: 1 } });
    const { record, decoded } = roundTrip(message);
    const envelope = envelopeOf(record);
    expect(Object.keys(envelope.headers).sort()).toEqual([
      'argsrepr',
      'id',
      'kwargsrepr',
      'lang',
      'origin',
      'task',
    ]);
    expect(envelope.properties).toEqual({});
    expect(decoded.headers).toEqual(message.headers);
    expect(decoded.properties).toEqual(message.properties);
    expect(decoded.body).toEqual(message.body);
  });

  it('keeps every value that differs from the default, extra headers included', () => {
    const message = createTaskMessage({
      task: 'a.b',
      args: [1],
      eta: new Date(5_000),
      expires: new Date(9_000),
      retries: 3,
      timeLimitMs: 30_000,
      rootId: 'root-1',
      parentId: 'parent-1',
      group: 'g-1',
      groupIndex: 0,
      priority: 0,
      ignoreResult: true,
      headers: { shadow: 'alias', stamps: { s: ['x'] }, stamped_headers: ['s'], custom: null },
    });
    message.properties.reply_to = 'replies';
    message.properties.correlation_id = 'corr-1';
    message.properties.delivery_mode = 1;
    const { record, decoded } = roundTrip(message);
    const envelope = envelopeOf(record);
    expect(envelope.headers).toMatchObject({
      eta: message.headers.eta,
      retries: 3,
      root_id: 'root-1',
      group_index: 0,
      ignore_result: true,
      custom: null,
    });
    expect(envelope.properties).toEqual({
      correlation_id: 'corr-1',
      reply_to: 'replies',
      delivery_mode: 1,
      priority: 0,
    });
    expect(decoded.headers).toEqual(message.headers);
    expect(decoded.properties).toEqual(message.properties);
  });

  it('still reads an envelope that spells out every default (as written before)', () => {
    const message = createTaskMessage({ task: 'a.b', kwargs: { i: 2 } });
    const headers = {
      'celeriac.envelope': JSON.stringify({ headers: message.headers, properties: message.properties }),
    };
    const value = Buffer.from(JSON.stringify(message.body));
    const decoded = decodeRecord({ headers, value });
    expect(decoded.kind === 'task' && decoded.message.headers).toEqual(message.headers);
    expect(decoded.kind === 'task' && decoded.message.properties).toEqual(message.properties);
  });

  it('shows the full headers and properties in raw text', () => {
    const message = createTaskMessage({ task: 'a.b' });
    const record = encodeTaskRecord('q', { queue: 'q', message });
    const raw = JSON.parse(rawText({ headers: record.headers, value: Buffer.from(record.value as string) }));
    expect(raw.headers).toEqual(message.headers);
    expect(raw.properties).toEqual(message.properties);
  });
});

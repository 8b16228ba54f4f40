import { ConfigError } from '@celeriac/core';
import { createTaskMessage } from '@celeriac/core/adapter';
import { describe, expect, it } from 'vitest';
import { Committer } from '../src/committer.js';
import { pickTier, releaseAt } from '../src/delay-tiers.js';
import { queueTopics, tierLabel } from '../src/naming.js';
import { PartitionWindow } from '../src/partition-window.js';
import { decodeRecord, encodeTaskRecord, rawText } from '../src/record-codec.js';
import { parseMarker, RedeliveryMarker } from '../src/redelivery-marker.js';
import { toRecord } from '../src/transport/kafkajs-group-consumer.js';
import { createBroker, parseKafkaUrl } from '../src/url.js';

// Pure logic, no broker: the pieces the Kafka-backed tests rely on.

describe('partition window', () => {
  it('commits only the finished prefix, whatever order records finish in', () => {
    const w = new PartitionWindow();
    for (const o of [10, 11, 12, 14]) w.add(o); // 13 is missing (compacted, or a transaction marker)
    expect(w.commitPoint()).toBe(10);
    w.complete(11);
    w.complete(14);
    expect(w.commitPoint()).toBe(10);
    expect(w.inFlight).toBe(2);
    w.complete(10);
    expect(w.commitPoint()).toBe(12);
    w.complete(12);
    expect(w.commitPoint()).toBe(15);
    expect(w.span).toBe(0);
    expect(w.complete(12)).toBe(false);
  });

  it('refuses to hand out an offset twice', () => {
    const w = new PartitionWindow();
    w.add(5);
    expect(w.seen(5)).toBe(true);
    expect(w.seen(6)).toBe(false);
    expect(() => w.add(5)).toThrow();
  });
});

describe('committer', () => {
  it('coalesces requested commits: one in flight, one queued, each with the state when it starts', async () => {
    let state = 0;
    const sent: number[] = [];
    const releases: (() => void)[] = [];
    const committer = new Committer(
      () => ({ offsets: [{ topic: 't', partition: 0, offset: state }], onCommitted: () => undefined }),
      async (offsets) => {
        sent.push(offsets[0]?.offset ?? -1);
        if (sent.length <= 2) await new Promise<void>((resolve) => releases.push(resolve));
      },
    );
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    const errors: unknown[] = [];
    state = 1;
    committer.request((e) => errors.push(e));
    state = 2;
    committer.request((e) => errors.push(e));
    await tick();
    expect(sent).toEqual([2]);
    state = 3;
    committer.request((e) => errors.push(e));
    state = 4;
    committer.request((e) => errors.push(e));
    await tick();
    expect(sent).toEqual([2]);
    releases.shift()?.();
    await tick();
    expect(sent).toEqual([2, 4]);
    releases.shift()?.();
    await committer.flush();
    expect(sent).toEqual([2, 4, 4]);
    expect(errors).toEqual([]);
  });
});

describe('redelivery marker', () => {
  it('counts earlier deliveries of records below the previous owner’s end', () => {
    const m = new RedeliveryMarker('{"v":1,"e":20,"r":{"12":3}}');
    expect(m.note(11)).toBe(1);
    expect(m.note(12)).toBe(3);
    expect(m.note(25)).toBe(0);
    expect(m.needsPersist).toBe(true);
    const stored = parseMarker(m.metadata(11));
    expect(stored.end).toBe(26);
    expect(stored.counts.get(11)).toBe(2);
    expect(stored.counts.get(12)).toBe(4);
  });

  it('reads foreign or missing metadata as no marker and drops counts below the commit point', () => {
    expect(parseMarker('not json').end).toBeUndefined();
    expect(parseMarker(null).end).toBeUndefined();
    const m = new RedeliveryMarker(null);
    m.note(3);
    const snap = m.snapshot();
    m.persisted(snap);
    expect(m.needsPersist).toBe(false);
    expect(m.metadata(4)).toBeNull();
  });
});

describe('delay tiers', () => {
  const tiers = [1000, 5000, 30000];
  it('puts a record in the longest tier not longer than what remains', () => {
    expect(pickTier(tiers, 200)).toBe(1000);
    expect(pickTier(tiers, 4999)).toBe(1000);
    expect(pickTier(tiers, 5000)).toBe(5000);
    expect(pickTier(tiers, 86_400_000)).toBe(30000);
  });
  it('releases at the due time or after the tier delay, whichever comes first', () => {
    expect(releaseAt(1000, 100, 600)).toBe(600);
    expect(releaseAt(1000, 100, 5000)).toBe(1100);
  });
  it('names tier topics after their delay', () => {
    expect(tierLabel(1000)).toBe('1s');
    expect(tierLabel(120_000)).toBe('2m');
    expect(tierLabel(3_600_000)).toBe('1h');
    expect(tierLabel(250)).toBe('250ms');
    expect(queueTopics('emails', 'celeriac.', [1000]).tiers[0]?.topic).toBe('emails.retry.1s');
    expect(() => queueTopics('bad name', 'celeriac.', [1000])).toThrow(ConfigError);
  });
});

describe('wire mapping', () => {
  it('round-trips a task message through Kafka headers and value, keyed by task id', () => {
    const message = createTaskMessage({
      task: 'a.b',
      args: [1, null],
      kwargs: { when: new Date(0) },
      priority: 4,
      retries: 2,
    });
    const record = encodeTaskRecord('q', { queue: 'q', message }, { 'celeriac.due-at': '5' });
    expect(record.key).toBe(message.headers.id);
    // One Kafka header carries every Celery header and property; the adapter's own stay apart.
    expect(Object.keys(record.headers).sort()).toEqual(['celeriac.due-at', 'celeriac.envelope']);
    const envelope = JSON.parse(record.headers['celeriac.envelope'] as string);
    expect(envelope.headers.retries).toBe(2);
    expect(envelope.headers.id).toBe(message.headers.id);
    expect(envelope.properties.priority).toBe(4);
    const decoded = decodeRecord({ headers: record.headers, value: Buffer.from(record.value as string) });
    expect(decoded.kind).toBe('task');
    if (decoded.kind !== 'task') return;
    expect(decoded.message.headers).toEqual(message.headers);
    expect(decoded.message.headers.retries).toBe(2);
    expect(decoded.message.properties.priority).toBe(4);
    expect(decoded.message.body[1].when).toEqual(new Date(0));
  });

  it('still reads the older layout of one Kafka header per Celery header', () => {
    const message = createTaskMessage({ task: 'a.b', args: [1], kwargs: { when: new Date(0) }, retries: 3 });
    // As the adapter wrote records before the envelope header: each value JSON, properties apart.
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(message.headers))
      if (value !== undefined) headers[name] = JSON.stringify(value);
    headers['celeriac.properties'] = JSON.stringify({ ...message.properties, priority: 7 });
    headers['celeriac.delivery-count'] = '2';
    const value = Buffer.from(JSON.stringify(message.body));
    const decoded = decodeRecord({ headers, value });
    expect(decoded.kind).toBe('task');
    if (decoded.kind !== 'task') return;
    expect(decoded.message.headers).toEqual(message.headers);
    expect(decoded.message.properties.priority).toBe(7);
    expect(rawText({ headers, value })).toContain(message.headers.id);
  });

  it('shows the envelope in raw text and hands over a broken envelope as malformed', () => {
    const message = createTaskMessage({ task: 'a.b' });
    const record = encodeTaskRecord('q', { queue: 'q', message });
    const raw = JSON.parse(rawText({ headers: record.headers, value: Buffer.from(record.value as string) }));
    expect(raw.headers.id).toBe(message.headers.id);
    expect(raw.properties.correlation_id).toBe(message.properties.correlation_id);
    expect(raw.body).toEqual(JSON.parse(record.value as string));
    const broken = decodeRecord({
      headers: { 'celeriac.envelope': '{"headers":' },
      value: Buffer.from('[[],{},null]'),
    });
    expect(broken.kind).toBe('malformed');
    if (broken.kind === 'malformed') expect(broken.raw).toContain('{"headers":');
    const pickled = decodeRecord({
      headers: {
        'celeriac.envelope': JSON.stringify({
          headers: message.headers,
          properties: { content_type: 'application/x-python-serialize' },
        }),
      },
      value: Buffer.from('[[],{},null]'),
    });
    expect(pickled.kind).toBe('malformed');
  });

  it('reads one header of a fetched record as the decoded header set has it', () => {
    const message = {
      key: null,
      value: Buffer.from('[]'),
      timestamp: '0',
      attributes: 0,
      offset: '5',
      headers: { a: Buffer.from('één'), twice: [Buffer.from('first'), Buffer.from('second')], s: 'plain' },
    };
    const fresh = toRecord('t', 0, message);
    const viaHeader = ['a', 'twice', 's', 'missing', 'constructor'].map((name) => fresh.header?.(name));
    expect(viaHeader).toEqual(['één', 'first', 'plain', undefined, undefined]);
    const decoded = toRecord('t', 0, message);
    expect(decoded.headers).toEqual({ a: 'één', twice: 'first', s: 'plain' });
    expect(decoded.header?.('twice')).toBe('first');
  });

  it('keys by the ordering key when one is given', () => {
    const message = createTaskMessage({ task: 'a.b' });
    expect(encodeTaskRecord('q', { queue: 'q', message, orderingKey: 'user-7' }).key).toBe('user-7');
  });

  it('hands over garbage as malformed with its raw text, and shows headers in raw text', () => {
    const garbage = decodeRecord({ headers: {}, value: Buffer.from('not a message') });
    expect(garbage.kind).toBe('malformed');
    if (garbage.kind === 'malformed') expect(garbage.raw).toBe('not a message');
    const twoElements = decodeRecord({
      headers: { task: '"a.b"', id: '"x1"' },
      value: Buffer.from('[[],{}]'),
    });
    expect(twoElements.kind).toBe('task');
    const pickled = decodeRecord({
      headers: {
        task: '"a.b"',
        id: '"x2"',
        'celeriac.properties': '{"content_type":"application/x-python-serialize"}',
      },
      value: Buffer.from('[[],{},null]'),
    });
    expect(pickled.kind).toBe('malformed');
    expect(rawText({ headers: { id: '"x3"' }, value: Buffer.from('[1]') })).toContain('"x3"');
  });

  it('reads kombu’s own Kafka envelope (base64 body in a JSON value)', () => {
    const body = Buffer.from(JSON.stringify([[2], {}, null])).toString('base64');
    const envelope = {
      body,
      'content-type': 'application/json',
      'content-encoding': 'utf-8',
      headers: { task: 'py.add', id: 'k1', lang: 'py' },
      properties: { body_encoding: 'base64', delivery_info: { exchange: '', routing_key: 'q' } },
    };
    const decoded = decodeRecord({ headers: {}, value: Buffer.from(JSON.stringify(envelope)) });
    expect(decoded.kind === 'task' && decoded.message.headers.task).toBe('py.add');
  });
});

describe('kafka:// URLs', () => {
  it('parses brokers and options', () => {
    expect(parseKafkaUrl('kafka://a:9093,b?partitions=6&delayTiersMs=500,2000&logLevel=warn')).toEqual({
      brokers: ['a:9093', 'b:9092'],
      partitions: 6,
      delayTiersMs: [500, 2000],
      logLevel: 'warn',
    });
  });
  it('rejects what it does not understand', () => {
    expect(() => parseKafkaUrl('redis://x')).toThrow(ConfigError);
    expect(() => parseKafkaUrl('kafka://')).toThrow(ConfigError);
    expect(() => parseKafkaUrl('kafka://a:1?partition=3')).toThrow(/unknown Kafka URL parameter/);
    expect(() => parseKafkaUrl('kafka://a:1?partitions=x')).toThrow(ConfigError);
    expect(() => createBroker('kafka://a:1?partitions=0')).toThrow(ConfigError);
  });
  it('builds a broker without connecting', async () => {
    const broker = createBroker('kafka://127.0.0.1:9092?partitions=2');
    expect(broker.name).toBe('kafka');
    expect(broker.capabilities.priority).toBe(false);
    await broker.close();
  });
});

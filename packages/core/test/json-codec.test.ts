import { describe, expect, it } from 'vitest';
import { decodeJson, encodeJson } from '../src/json-codec.js';

describe('kombu JSON codec', () => {
  it('decodes the tagged body Celery sends (verified sample from the protocol spec)', () => {
    const text =
      '[[{"__type__": "datetime", "__value__": "2024-01-02T03:04:05.678900+00:00"}, {"__type__": "uuid", "__value__": {"hex": "12345678123456781234567812345678"}}, {"__type__": "decimal", "__value__": "1.10"}, {"__type__": "base64", "__value__": "AP8="}, {"__type__": "bytes", "__value__": "abc"}], {"d": {"__type__": "date", "__value__": "2024-01-02"}}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]';
    const [args, kwargs] = decodeJson(text) as [unknown[], Record<string, unknown>];
    expect(args[0]).toEqual(new Date('2024-01-02T03:04:05.678Z'));
    expect(args[1]).toBe('12345678-1234-5678-1234-567812345678');
    expect(args[2]).toEqual({ __celeriacTag: 'decimal', value: '1.10' });
    expect(args[3]).toEqual(new Uint8Array([0, 255]));
    expect(args[4]).toEqual(new Uint8Array([97, 98, 99]));
    expect(kwargs.d).toBe('2024-01-02');
  });

  it('encodes dates with an explicit offset and bytes as bytes or base64', () => {
    const text = encodeJson({
      when: new Date('2024-01-02T03:04:05.678Z'),
      utf8: new Uint8Array([104, 105]),
      bin: new Uint8Array([0, 255]),
    });
    expect(JSON.parse(text)).toEqual({
      when: { __type__: 'datetime', __value__: '2024-01-02T03:04:05.678+00:00' },
      utf8: { __type__: 'bytes', __value__: 'hi' },
      bin: { __type__: 'base64', __value__: 'AP8=' },
    });
  });

  it('emits plain values for peers on kombu < 5.3 when tags are off', () => {
    expect(JSON.parse(encodeJson({ when: new Date('2024-01-02T00:00:00Z') }, { tags: false }))).toEqual({
      when: '2024-01-02T00:00:00.000+00:00',
    });
  });

  it('round-trips decimals and uuids it decoded', () => {
    const decoded = decodeJson('{"d": {"__type__": "decimal", "__value__": "2.50"}}');
    expect(JSON.parse(encodeJson(decoded))).toEqual({ d: { __type__: 'decimal', __value__: '2.50' } });
  });

  it('accepts the NaN and Infinity tokens Python emits, outside strings only', () => {
    expect(decodeJson('[NaN, Infinity, -Infinity, "NaN in a string"]')).toEqual([
      null,
      null,
      null,
      'NaN in a string',
    ]);
  });

  it('leaves an unknown tag as a plain object instead of failing the message', () => {
    expect(decodeJson('{"__type__": "set", "__value__": [1]}')).toEqual({ __type__: 'set', __value__: [1] });
  });

  it('takes the plain path for plain values and the tagged path when any nested value needs it', () => {
    expect(encodeJson({ a: [1, 'x', null, { b: true }] })).toBe('{"a":[1,"x",null,{"b":true}]}');
    expect(JSON.parse(encodeJson({ a: [{ deep: [new Date(0)] }] }))).toEqual({
      a: [{ deep: [{ __type__: 'datetime', __value__: '1970-01-01T00:00:00.000+00:00' }] }],
    });
    expect(encodeJson({ n: 10n })).toBe('{"n":10}');
  });

  it('throws on text that is not JSON', () => {
    expect(() => decodeJson('{nope')).toThrow(SyntaxError);
  });
});

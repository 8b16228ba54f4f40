import { randomUUID } from 'node:crypto';
import { createTaskMessage } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeEnvelope } from '../src/envelope.js';
import { FETCH_FUNCTION } from '../src/lua/fetch.js';
import { redisUrl } from './helpers.js';

const up = await requireService('redis', redisUrl);

// The fetch script's helpers on their own, with the single pattern the fast path must agree with.
const PROBE = `${FETCH_FUNCTION.slice(0, FETCH_FUNCTION.indexOf('local function fetch_messages'))}
local raw = ARGV[1]
local by_pattern = string.match(string.sub(raw, -600),
  '"properties"%s*:%s*{[^{}]*{[^{}]*}[^{}]*"delivery_tag"%s*:%s*"([^"\\\\{}]+)"%s*}%s*}%s*$')
return {tag_by_finds(raw) or false, by_pattern or false, tag_of(raw) or false}
`;

/** A kombu-shaped envelope as Python's json.dumps writes it (", " and ": " separators). */
function pythonText(envelope: object): string {
  return JSON.stringify(envelope, null, 1)
    .replace(/\n\s*/g, ' ')
    .replace(/\{ /g, '{')
    .replace(/ \}/g, '}')
    .replace(/\[ /g, '[')
    .replace(/ \]/g, ']');
}

function kombuEnvelope(properties: Record<string, unknown>, headers: Record<string, unknown> = {}) {
  return {
    body: 'W1tdLCB7fV0=',
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: { lang: 'py', task: 'tasks.add', id: randomUUID(), ...headers },
    properties,
  };
}

describe.skipIf(!up)('reading the delivery tag inside the fetch script', () => {
  const redis = new Redis(redisUrl);
  afterAll(() => redis.disconnect());

  const read = async (raw: string) => {
    const [fast, pattern, tag] = (await redis.eval(PROBE, 0, raw)) as [string | 0, string | 0, string | 0];
    return { fast: fast || null, pattern: pattern || null, tag: tag || null };
  };

  it('takes the plain-find path for our envelopes and kombu’s, with the tag the pattern reads', async () => {
    const ours = encodeEnvelope('q', createTaskMessage({ task: 't', kwargs: { i: 1 } }));
    const tag = randomUUID();
    const kombu = pythonText(
      kombuEnvelope({
        correlation_id: randomUUID(),
        reply_to: '',
        delivery_mode: 2,
        delivery_info: { exchange: '', routing_key: 'celery' },
        priority: 0,
        body_encoding: 'base64',
        delivery_tag: tag,
      }),
    );
    expect(kombu).toContain('"delivery_tag": "');
    expect(await read(ours.raw)).toEqual({
      fast: ours.deliveryTag,
      pattern: ours.deliveryTag,
      tag: ours.deliveryTag,
    });
    expect(await read(kombu)).toEqual({ fast: tag, pattern: tag, tag });
  });

  it('never reads a tag the pattern would not, and still finds every real tag', async () => {
    const tag = () => randomUUID();
    const props = (extra: Record<string, unknown>, t: unknown) => ({
      correlation_id: 'c',
      delivery_info: { exchange: '', routing_key: 'q' },
      ...extra,
      delivery_tag: t,
    });
    const cases: { raw: string; expected: string | null }[] = [];
    const add = (envelope: object, expected: string | null) =>
      cases.push({ raw: JSON.stringify(envelope), expected });
    // Braces inside a property string: not the shape either way, so decoded.
    let t = tag();
    add(kombuEnvelope(props({ reply_to: 'a{b}c' }, t)), t);
    t = tag();
    add(kombuEnvelope(props({ reply_to: 'open{' }, t)), t);
    t = tag();
    add(kombuEnvelope({ delivery_info: { exchange: 'x{' }, delivery_tag: t }), t);
    // "properties" as a header value before the real key.
    t = tag();
    add(kombuEnvelope(props({}, t), { note: 'properties', kind: '"properties"' }), t);
    // No delivery_info object, or two nested objects.
    t = tag();
    add(kombuEnvelope({ correlation_id: 'c', delivery_tag: t }), t);
    t = tag();
    add(kombuEnvelope(props({ extra: { a: 1 } }, t)), t);
    // A tag far from the end, a numeric tag, an escaped tag.
    t = `${'x'.repeat(150)}-${tag()}`;
    add(kombuEnvelope(props({}, t)), t);
    add(kombuEnvelope(props({}, 42)), '42');
    t = `a"b${tag()}`;
    add(kombuEnvelope(props({}, t)), t);
    // Properties not last, and a header named delivery_tag after them.
    t = tag();
    const env = kombuEnvelope(props({}, t), { delivery_tag: 'header-not-tag' });
    add({ properties: env.properties, body: env.body, headers: env.headers }, t);
    // No tag at all, and an envelope shorter than the windows.
    add(kombuEnvelope({ correlation_id: 'c', delivery_info: { exchange: '', routing_key: 'q' } }), null);
    t = tag();
    add({ properties: { delivery_info: {}, delivery_tag: t } }, t);
    for (const { raw, expected } of cases) {
      const r = await read(raw);
      if (r.fast !== null) expect(r.fast, raw).toBe(r.pattern);
      expect(r.tag, raw).toBe(expected);
    }
    // The short envelope has the canonical shape: the fast path handles it despite its size.
    expect((await read(cases[cases.length - 1]?.raw ?? '')).fast).not.toBeNull();
  });
});

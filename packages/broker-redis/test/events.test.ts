import { requireCelery, requireService } from '@celeriac/test-services';
import { describeEventTransport, testHeartbeat, waitFor } from '@celeriac/testkit';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createEventReceiver, createEventTransport } from '../src/index.js';
import { redisUrl } from './helpers.js';

const up = await requireService('redis', redisUrl);

describe.skipIf(!up)('Celery events over Redis', () => {
  it('publishes on /<db>.celeryev/<routing key> in kombu’s envelope', async () => {
    const sub = new Redis(redisUrl);
    const got: [string, string][] = [];
    sub.on('pmessage', (_pattern, channel, message) => got.push([channel, message]));
    await sub.psubscribe('/0.celeryev/*');
    const transport = createEventTransport(redisUrl);
    const hostname = `celeriac-test-${process.pid}@host`;
    await transport.publishEvent('worker.heartbeat', testHeartbeat(hostname, 1), hostname);
    // The hostname header is plain JSON (the body is base64).
    const [channel, text] = await waitFor(() => got.find(([, m]) => m.includes(hostname)), { what: 'event' });
    expect(channel).toBe('/0.celeryev/worker.heartbeat');
    const envelope = JSON.parse(text);
    expect(envelope.headers).toEqual({ hostname });
    expect(envelope.properties).toMatchObject({
      delivery_mode: 1,
      body_encoding: 'base64',
      delivery_info: { exchange: 'celeryev', routing_key: 'worker.heartbeat' },
    });
    const event = JSON.parse(Buffer.from(envelope.body, 'base64').toString('utf8'));
    expect(event).toMatchObject({ type: 'worker-heartbeat', hostname, clock: 1, freq: 2 });
    await transport.close();
    sub.disconnect();
  });
});

if (up)
  describeEventTransport('redis', {
    create: () => createEventTransport(redisUrl),
    receiver: () => createEventReceiver(redisUrl),
    celeryBrokerUrl: redisUrl,
    python: requireCelery(),
  });

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CeleryEvent } from '@celeriac/core/worker';
import { requireService, waitFor } from '@celeriac/testkit';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createEventTransport } from '../src/index.js';
import { redisUrl } from './helpers.js';

const up = await requireService('redis', redisUrl);
const venv = join(import.meta.dirname, '../../../.services/celery-venv/bin/python');
const python = process.env.CELERIAC_CELERY_PYTHON || (existsSync(venv) ? venv : '');

function heartbeat(hostname: string, clock: number): CeleryEvent {
  return {
    type: 'worker-heartbeat',
    hostname,
    timestamp: Date.now() / 1000,
    utcoffset: 0,
    pid: process.pid,
    clock,
    freq: 2,
    active: 0,
    processed: 0,
    loadavg: [0, 0, 0],
    sw_ident: 'celeriac',
    sw_ver: '0.1.0',
    sw_sys: 'Linux',
  };
}

/** Python's own event receiver: prints the first worker-heartbeat from the given host. */
const RECEIVE = `
import json, sys
from celery import Celery
app = Celery(broker=sys.argv[1])
with app.connection_for_read() as conn:
    def on_event(event):
        if event.get('hostname') == sys.argv[2]:
            print(json.dumps(event), flush=True)
            raise SystemExit(0)
    app.events.Receiver(conn, handlers={'worker-heartbeat': on_event}).capture(limit=None, timeout=20)
`;

describe.skipIf(!up)('Celery events over Redis', () => {
  it('publishes on /<db>.celeryev/<routing key> in kombu’s envelope', async () => {
    const sub = new Redis(redisUrl);
    const got: [string, string][] = [];
    sub.on('pmessage', (_pattern, channel, message) => got.push([channel, message]));
    await sub.psubscribe('/0.celeryev/*');
    const transport = createEventTransport(redisUrl);
    const hostname = `celeriac-test-${process.pid}@host`;
    await transport.publishEvent('worker.heartbeat', heartbeat(hostname, 1), hostname);
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

  it.skipIf(!python)('is read by Celery’s own event receiver', async () => {
    const transport = createEventTransport(redisUrl);
    const hostname = `celeriac-py-${process.pid}@host`;
    const received = new Promise<string>((resolve, reject) => {
      execFile(python, ['-c', RECEIVE, redisUrl, hostname], { timeout: 30_000 }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      );
    });
    let done = false;
    void received.finally(() => {
      done = true;
    });
    // Keep sending until the receiver (which needs a moment to subscribe) has one.
    for (let clock = 1; !done && clock < 200; clock++) {
      await transport.publishEvent('worker.heartbeat', heartbeat(hostname, clock), hostname);
      await new Promise((r) => setTimeout(r, 100));
    }
    const event = JSON.parse((await received).trim());
    expect(event).toMatchObject({ type: 'worker-heartbeat', hostname, freq: 2, sw_ident: 'celeriac' });
    await transport.close();
  });
});

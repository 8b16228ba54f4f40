import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CeleryEvent } from '@celeriac/core/worker';
import { requireService, uniqueName, waitFor } from '@celeriac/testkit';
import { describe, expect, it } from 'vitest';
import { createEventTransport } from '../src/event-transport.js';
import { AMQP_URL, rawConnection } from './support.js';

const up = await requireService('rabbitmq', AMQP_URL);
const venv = fileURLToPath(new URL('../../../.services/celery-venv/bin/python', import.meta.url));
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

/** Celery's own event receiver: prints the first worker-heartbeat from the given host. */
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

describe.skipIf(!up)('Celery events over AMQP', () => {
  it('publishes to the celeryev topic exchange as Celery does: transient JSON with a hostname header', async () => {
    const model = await rawConnection();
    const transport = createEventTransport(AMQP_URL);
    const hostname = `celeriac-test-${process.pid}@host`;
    try {
      const ch = await model.createChannel();
      // What a monitor does: an exclusive queue bound to every event.
      await ch.assertExchange('celeryev', 'topic', { durable: true });
      const { queue } = await ch.assertQueue(uniqueName('celeryev'), { exclusive: true, autoDelete: true });
      await ch.bindQueue(queue, 'celeryev', '#');
      await transport.publishEvent('worker.heartbeat', heartbeat(hostname, 1), hostname);
      const msg = await waitFor(async () => (await ch.get(queue, { noAck: true })) || undefined, {
        what: 'event',
      });
      expect(msg.fields.exchange).toBe('celeryev');
      expect(msg.fields.routingKey).toBe('worker.heartbeat');
      expect(msg.properties.headers).toEqual({ hostname });
      expect(msg.properties.deliveryMode).toBe(1);
      expect(msg.properties.contentType).toBe('application/json');
      expect(JSON.parse(msg.content.toString('utf8'))).toMatchObject({
        type: 'worker-heartbeat',
        hostname,
        clock: 1,
      });
    } finally {
      await transport.close();
      await model.close();
    }
  });

  it('sends nowhere, without an error, when no monitor listens', async () => {
    const transport = createEventTransport(AMQP_URL);
    await expect(
      transport.publishEvent('worker.heartbeat', heartbeat('nobody@host', 1), 'nobody@host'),
    ).resolves.toBeUndefined();
    await transport.close();
  });

  it.skipIf(!python)('is read by Celery’s own event receiver', async () => {
    const transport = createEventTransport(AMQP_URL);
    const hostname = `celeriac-py-${process.pid}@host`;
    const received = new Promise<string>((resolve, reject) => {
      execFile(python, ['-c', RECEIVE, AMQP_URL, hostname], { timeout: 30_000 }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      );
    });
    let done = false;
    void received.finally(() => {
      done = true;
    });
    // Keep sending until the receiver (which needs a moment to bind its queue) has one.
    for (let clock = 1; !done && clock < 200; clock++) {
      await transport.publishEvent('worker.heartbeat', heartbeat(hostname, clock), hostname);
      await new Promise((r) => setTimeout(r, 100));
    }
    const event = JSON.parse((await received).trim());
    expect(event).toMatchObject({ type: 'worker-heartbeat', hostname, freq: 2, sw_ident: 'celeriac' });
    await transport.close();
  });
});

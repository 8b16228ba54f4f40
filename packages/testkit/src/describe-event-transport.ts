import { execFile } from 'node:child_process';
import type { CeleryEvent, EventTransport } from '@celeriac/core/worker';
import { describe, expect, it } from 'vitest';

/** A worker-heartbeat event as a Celeriac worker sends it. */
export function testHeartbeat(hostname: string, clock: number): CeleryEvent {
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

/** How an event transport plugs into {@link describeEventTransport}. */
export interface EventTransportSuiteOptions {
  readonly create: () => EventTransport;
  /** The broker URL as Python Celery spells it (`redis://…`, `amqp://…`). */
  readonly celeryBrokerUrl: string;
  /**
   * A Python interpreter that can `import celery`. An empty string skips the suite (visibly), for
   * machines without Celery.
   */
  readonly python: string;
}

/** Conformance for Celery event transports: Celery's own receiver must read what the transport sends. */
export function describeEventTransport(name: string, options: EventTransportSuiteOptions): void {
  const { python } = options;
  describe.skipIf(!python)(`event transport conformance: ${name}`, () => {
    it('is read by Celery’s own event receiver', async () => {
      const transport = options.create();
      const hostname = `celeriac-${name}-${process.pid}@host`;
      const received = new Promise<string>((resolve, reject) => {
        execFile(
          python,
          ['-c', RECEIVE, options.celeryBrokerUrl, hostname],
          { timeout: 30_000 },
          (error, stdout) => (error ? reject(error) : resolve(stdout)),
        );
      });
      let done = false;
      void received.finally(() => {
        done = true;
      });
      // Keep sending until the receiver (which needs a moment to subscribe) has one.
      for (let clock = 1; !done && clock < 200; clock++) {
        await transport.publishEvent('worker.heartbeat', testHeartbeat(hostname, clock), hostname);
        await new Promise((r) => setTimeout(r, 100));
      }
      const event = JSON.parse((await received).trim());
      expect(event).toMatchObject({ type: 'worker-heartbeat', hostname, freq: 2, sw_ident: 'celeriac' });
      await transport.close();
    });
  });
}

import { execFile } from 'node:child_process';
import type { CeleryEvent, EventReceiver, EventTransport } from '@celeriac/core/worker';
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

/** Celery's own event dispatcher: sends worker-heartbeats from the given host for up to 20 s. */
const DISPATCH = `
import sys, time
from celery import Celery
app = Celery(broker=sys.argv[1])
with app.connection_for_write() as conn:
    dispatcher = app.events.Dispatcher(conn, hostname=sys.argv[2], buffer_while_offline=False)
    deadline = time.time() + 20
    while time.time() < deadline:
        dispatcher.send('worker-heartbeat', freq=2.0, active=0, processed=0)
        time.sleep(0.1)
`;

/** How an event transport plugs into {@link describeEventTransport}. */
export interface EventTransportSuiteOptions {
  readonly create: () => EventTransport;
  /**
   * The adapter's receiver (`createEventReceiver`), if it has one: it must read what the transport
   * sends, and, where Celery speaks the broker, what Celery's own dispatcher sends.
   */
  readonly receiver?: () => EventReceiver;
  /**
   * The broker URL as Python Celery spells it (`redis://…`, `amqp://…`). Absent where Python Celery
   * has no event transport for the broker (Kafka): the Celery checks are skipped, visibly.
   */
  readonly celeryBrokerUrl?: string;
  /**
   * A Python interpreter that can `import celery`. An empty string skips the Celery checks
   * (visibly), for machines without Celery.
   */
  readonly python: string;
}

/** Collects a receiver's events until one matches, or fails after `timeoutMs`. */
function nextEvent(
  receiver: EventReceiver,
  match: (event: CeleryEvent) => boolean,
  timeoutMs = 30_000,
): { ready: Promise<() => void>; event: Promise<CeleryEvent>; seen: CeleryEvent[] } {
  const seen: CeleryEvent[] = [];
  let found!: (event: CeleryEvent) => void;
  let failed!: (error: Error) => void;
  const event = new Promise<CeleryEvent>((resolve, reject) => {
    found = resolve;
    failed = reject;
  });
  const timer = setTimeout(() => failed(new Error(`no matching event within ${timeoutMs} ms`)), timeoutMs);
  const ready = receiver.subscribe((e) => {
    seen.push(e);
    if (match(e)) {
      clearTimeout(timer);
      found(e);
    }
  });
  ready.catch(() => clearTimeout(timer));
  return { ready, event, seen };
}

/**
 * Conformance for Celery event transports: Celery's own receiver must read what the transport
 * sends, and the adapter's receiver must read both what the transport sends and what Celery's own
 * dispatcher sends.
 */
export function describeEventTransport(name: string, options: EventTransportSuiteOptions): void {
  const { python, celeryBrokerUrl } = options;
  const celery = Boolean(python && celeryBrokerUrl);
  const celeryNote = celeryBrokerUrl ? '' : ' (Python Celery has no event transport on this broker)';
  describe(`event transport conformance: ${name}`, () => {
    it.skipIf(!celery)(`is read by Celery’s own event receiver${celeryNote}`, async () => {
      const transport = options.create();
      const hostname = `celeriac-${name}-${process.pid}@host`;
      const received = new Promise<string>((resolve, reject) => {
        execFile(
          python,
          ['-c', RECEIVE, celeryBrokerUrl as string, hostname],
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

    it.skipIf(!options.receiver)(
      'the receiver reads single events and task.multi batches, in order per host',
      async () => {
        const receiver = (options.receiver as () => EventReceiver)();
        const transport = options.create();
        const hostname = `celeriac-${name}-rx-${process.pid}@host`;
        try {
          const { ready, event, seen } = nextEvent(
            receiver,
            (e) => e.hostname === hostname && e.type === 'task-succeeded',
          );
          await ready;
          await transport.publishEvent('worker.heartbeat', testHeartbeat(hostname, 1), hostname);
          const task = (type: string, clock: number): CeleryEvent => ({
            ...testHeartbeat(hostname, clock),
            type,
            uuid: 'task-1',
          });
          await transport.publishEvent(
            'task.multi',
            [task('task-started', 2), task('task-succeeded', 3)],
            hostname,
          );
          await event;
          const mine = seen.filter((e) => e.hostname === hostname);
          expect(mine.map((e) => [e.type, e.clock])).toEqual([
            ['worker-heartbeat', 1],
            ['task-started', 2],
            ['task-succeeded', 3],
          ]);
          expect(mine[0]).toMatchObject({ freq: 2, sw_ident: 'celeriac' });
        } finally {
          await transport.close();
          await receiver.close();
        }
      },
    );

    it.skipIf(!options.receiver || !celery)(
      `the receiver reads what Celery’s own dispatcher sends${celeryNote}`,
      async () => {
        const receiver = (options.receiver as () => EventReceiver)();
        const hostname = `celery-${name}-${process.pid}@host`;
        const { ready, event } = nextEvent(
          receiver,
          (e) => e.hostname === hostname && e.type === 'worker-heartbeat',
        );
        try {
          await ready;
          const sender = execFile(python, ['-c', DISPATCH, celeryBrokerUrl as string, hostname], {
            timeout: 30_000,
          });
          try {
            expect(await event).toMatchObject({ type: 'worker-heartbeat', hostname, freq: 2 });
          } finally {
            sender.kill();
          }
        } finally {
          await receiver.close();
        }
      },
    );
  });
}

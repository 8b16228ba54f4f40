#!/usr/bin/env node
import {
  backendFromUrl,
  brokerFromUrl,
  controlTransportFromUrl,
  defaultBackendUrl,
  eventTransportFromUrl,
} from '@celeriac/cli/adapters';
import { preflight } from '@celeriac/cli/preflight';
import { CeleriacError, ConfigError } from '@celeriac/core';
import {
  type ControlTransport,
  createWorker,
  type EventTransport,
  sendCeleryEvents,
} from '@celeriac/core/worker';
import { pino } from 'pino';
import { loadTasks } from './load-tasks.js';
import { serveWorkerMetrics } from './metrics.js';
import { HelpShown, parseWorkerOptions } from './options.js';

// commander for flags and help text, pino for structured one-line-per-event logs: both are the
// standard, well-kept tools for the job.
const log = pino(
  { name: 'celeriac-worker', base: { pid: process.pid } },
  pino.destination({ dest: 1, sync: true }),
);

/** An error as one log field: a handler may throw megabytes of message, the log gets the start. */
function clip(error: unknown, max = 8192): string {
  let text: string;
  try {
    text = String(error);
  } catch {
    text = 'unprintable error';
  }
  return text.length <= max ? text : `${text.slice(0, max)}… [${text.length} characters in all]`;
}

async function main(): Promise<void> {
  const o = parseWorkerOptions();
  if (!o.tasks)
    throw new ConfigError(
      'no tasks to run: pass --tasks <module> (or CELERIAC_TASKS), a module exporting implement(...) values',
    );
  const tasks = await loadTasks(o.tasks);
  const backendUrl = o.backend ?? defaultBackendUrl(o.broker);
  const broker = await brokerFromUrl(o.broker);
  const backend = await backendFromUrl(backendUrl);
  // Both answer before anything else starts: a wrong password, a missing database or a dead
  // server is one fatal line now, not a slow failure per task later.
  await preflight(broker, backend, {
    queue: o.queue?.[0] ?? tasks.find((t) => t.contract.defaults.queue)?.contract.defaults.queue ?? 'celery',
  });
  // Remote control over the broker, as Celery's workers always have it; memory:// has no other process.
  const control =
    o.control && !o.broker.startsWith('memory:')
      ? await controlTransportFromUrl<ControlTransport>(o.broker, o.controlNamespace)
      : undefined;
  const worker = createWorker({
    broker,
    backend,
    tasks,
    concurrency: o.concurrency,
    shutdownGraceMs: o.grace,
    handleSignals: true,
    trackStarted: o.trackStarted,
    deadLetterOnFailure: o.deadLetterOnFailure,
    ...(o.queue ? { queues: o.queue } : {}),
    ...(o.autoscale ? { autoscale: o.autoscale } : {}),
    ...(o.hostname ? { hostname: o.hostname } : {}),
    ...(control ? { control } : {}),
  });
  worker.on('task-failed', (e) =>
    log.warn({ task: e.name, id: e.uuid, error: clip(e.error) }, 'task failed'),
  );
  worker.on('task-skipped', (e) =>
    log.info({ task: e.name, id: e.uuid, reason: e.reason, state: e.state }, 'task skipped'),
  );
  worker.on('task-rejected', (e) =>
    log.warn({ task: e.name, id: e.uuid, reason: e.reason }, 'message dead-lettered'),
  );
  worker.on('worker-error', (e) =>
    log.error({ error: String(e.error) }, 'recovered from a broker or backend error'),
  );
  worker.on('worker-offline', () => log.info(worker.stats(), 'celeriac worker stopped'));
  // Bound before the worker consumes anything, so a port in use stops the start cleanly.
  if (o.metricsPort) await serveWorkerMetrics(worker, broker, tasks, o.metricsPort, o.metricsHost);
  await worker.start();
  // With remote control on, events run as on a Celery worker without -E: heartbeats always, task
  // events once `enable_events` asks (Flower does); `--events` turns them on from the start.
  const stopEvents =
    o.events || control
      ? sendCeleryEvents(worker, await eventTransportFromUrl<EventTransport>(o.broker), {
          taskEvents: o.events,
          onError: (error) => log.warn({ error: String(error) }, 'could not send a Celery event'),
        })
      : undefined;
  log.info(
    {
      hostname: worker.hostname,
      broker: redact(o.broker),
      backend: redact(backendUrl),
      tasks: tasks.map((t) => t.contract.name),
      concurrency: o.concurrency,
    },
    'celeriac worker ready',
  );
  // Progress on long runs: one line every 10 s while work is being done.
  let last = 0;
  const progress = setInterval(() => {
    const s = worker.stats();
    if (s.processed !== last) log.info(s, 'progress');
    last = s.processed;
  }, 10_000);
  // Not unref'd on purpose: it also keeps the process alive with an in-process broker (memory://).
  worker.on('worker-offline', () => {
    clearInterval(progress);
    // worker-offline goes out before the connections close.
    void Promise.resolve(stopEvents?.())
      .then(() => Promise.allSettled([broker.close(), backend.close(), control?.close()]))
      .then(() => process.exit(0));
  });
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):([^@/]*)@/, '//$1:***@');
}

main().catch((error: unknown) => {
  if (error instanceof HelpShown) process.exit(0);
  const message = CeleriacError.is(error) ? error.message : String((error as Error)?.stack ?? error);
  log.fatal({ code: CeleriacError.is(error) ? error.code : undefined }, message);
  // Exit now: connections opened before the failure (a client still retrying an unreachable
  // server, say) would otherwise keep the process alive with nothing to do.
  process.exit(2);
});

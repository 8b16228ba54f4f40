#!/usr/bin/env node
import {
  backendFromUrl,
  brokerFromUrl,
  controlTransportFromUrl,
  defaultBackendUrl,
  eventTransportFromUrl,
} from '@celeriac/cli/adapters';
import { CeleriacError, ConfigError } from '@celeriac/core';
import {
  type ControlTransport,
  createWorker,
  type EventTransport,
  sendCeleryEvents,
} from '@celeriac/core/worker';
import { collectWorkerMetrics, serveMetrics } from '@celeriac/prometheus';
import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { loadTasks } from './load-tasks.js';

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

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function range(value: string): { min: number; max: number } {
  const [min, max] = value.split(',').map(Number);
  if (
    !Number.isInteger(min) ||
    !Number.isInteger(max) ||
    (min as number) < 1 ||
    (max as number) < (min as number)
  ) {
    throw new InvalidArgumentError('expected MIN,MAX with 1 <= MIN <= MAX');
  }
  return { min: min as number, max: max as number };
}

const program = new Command('celeriac-worker')
  .description('Run Celeriac task implementations, consuming from a broker picked by URL.')
  .option(
    '--broker <url>',
    'broker URL (memory://, redis://, amqp://, kafka://)',
    process.env.CELERIAC_BROKER_URL ?? 'memory://',
  )
  .option(
    '--backend <url>',
    "result backend URL (memory://, redis://; default: the broker's own Redis)",
    process.env.CELERIAC_RESULT_BACKEND || undefined,
  )
  .option('--queue <name...>', 'queues to consume (default: the tasks\' queues, else "celery")')
  .option(
    '--concurrency <n>',
    'tasks run at once',
    positiveInt,
    Number(process.env.CELERIAC_CONCURRENCY ?? 10),
  )
  .option('--autoscale <min,max>', 'scale concurrency with queue depth', range)
  .option(
    '--tasks <module>',
    'module exporting task implementations (a path or package name, resolved from the current directory)',
    process.env.CELERIAC_TASKS || undefined,
  )
  .option('--grace <ms>', 'shutdown grace period in ms', positiveInt, 30_000)
  .option('--hostname <name>', 'node name in results and events')
  .option(
    '--events',
    'send Celery task events from the start (for Flower, celery events); with remote control on, heartbeats are sent anyway and enable_events turns task events on',
    false,
  )
  .option('--track-started', 'store STARTED when a task starts (one more write per task)', false)
  .option('--no-control', 'do not answer remote control (celery inspect/control, Flower, celeriac inspect)')
  .option(
    '--control-namespace <name>',
    "Celery's control_exchange",
    process.env.CELERIAC_CONTROL_NAMESPACE || undefined,
  )
  .option('--metrics-port <port>', 'serve Prometheus metrics on <metrics-host>:<port>/metrics', positiveInt)
  .option(
    '--metrics-host <host>',
    'address the metrics server binds (0.0.0.0 for a scraper elsewhere)',
    '127.0.0.1',
  )
  .showHelpAfterError();

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<{
    broker: string;
    backend?: string;
    queue?: string[];
    concurrency: number;
    autoscale?: { min: number; max: number };
    tasks?: string;
    grace: number;
    hostname?: string;
    metricsPort?: number;
    metricsHost: string;
    events: boolean;
    trackStarted: boolean;
    control: boolean;
    controlNamespace?: string;
  }>();
  if (!o.tasks)
    throw new ConfigError(
      'no tasks to run: pass --tasks <module> (or CELERIAC_TASKS), a module exporting implement(...) values',
    );
  const tasks = await loadTasks(o.tasks);
  const backendUrl = o.backend ?? defaultBackendUrl(o.broker);
  const broker = await brokerFromUrl(o.broker);
  const backend = await backendFromUrl(backendUrl);
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
  if (o.metricsPort) {
    const { registry } = collectWorkerMetrics(worker, {
      broker,
      taskNames: tasks.map((t) => t.contract.name),
    });
    await serveMetrics({ registry, port: o.metricsPort, host: o.metricsHost });
  }
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
  const message = CeleriacError.is(error) ? error.message : String((error as Error)?.stack ?? error);
  log.fatal({ code: CeleriacError.is(error) ? error.code : undefined }, message);
  process.exitCode = 2;
});

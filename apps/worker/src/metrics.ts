import { createServer, type Server } from 'node:http';
import type { Broker } from '@celeriac/core';
import type { Worker } from '@celeriac/core/worker';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics for a worker, served on `/metrics`. prom-client does the metric types and the
 * exposition format; node's http server is enough for one read-only endpoint.
 */
export function serveMetrics(
  worker: Worker,
  broker: Broker,
  queues: readonly string[],
  port: number,
): Server {
  const registry = new Registry();
  const tasks = new Counter({
    name: 'celeriac_tasks_total',
    help: 'Tasks finished, by task name and final state',
    labelNames: ['task', 'state'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'celeriac_task_duration_seconds',
    help: 'Handler run time',
    labelNames: ['task'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
    registers: [registry],
  });
  new Gauge({
    name: 'celeriac_tasks_active',
    help: 'Tasks running now',
    registers: [registry],
    collect() {
      this.set(worker.stats().active);
    },
  });
  new Gauge({
    name: 'celeriac_worker_concurrency',
    help: 'Current concurrency (changes with autoscaling)',
    registers: [registry],
    collect() {
      this.set(worker.stats().concurrency);
    },
  });
  new Gauge({
    name: 'celeriac_queue_depth',
    help: 'Messages waiting in each consumed queue',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      if (!broker.capabilities.depth) return;
      for (const q of queues) this.set({ queue: q }, await broker.depth(q));
    },
  });
  worker.on('task-succeeded', (e) => {
    tasks.inc({ task: e.name, state: 'SUCCESS' });
    duration.observe({ task: e.name }, e.runtimeMs / 1000);
  });
  worker.on('task-failed', (e) => {
    tasks.inc({ task: e.name, state: 'FAILURE' });
    duration.observe({ task: e.name }, e.runtimeMs / 1000);
  });
  worker.on('task-retried', (e) => tasks.inc({ task: e.name, state: 'RETRY' }));
  worker.on('task-revoked', (e) => tasks.inc({ task: e.name, state: 'REVOKED' }));
  worker.on('task-rejected', (e) => tasks.inc({ task: e.name ?? 'unknown', state: 'REJECTED' }));

  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: unknown) => res.writeHead(500).end(String(error)),
    );
  });
  server.listen(port, '127.0.0.1');
  server.unref();
  return server;
}

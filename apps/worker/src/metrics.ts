import { type Broker, ConfigError } from '@celeriac/core';
import type { TaskImplementation, Worker } from '@celeriac/core/worker';
import { collectWorkerMetrics, serveMetrics } from '@celeriac/prometheus';

/**
 * Serves the worker's Prometheus metrics on `host:port`. A port that cannot be bound (in use, not
 * allowed) is a ConfigError: the caller binds before "ready", so the start fails on it.
 */
export async function serveWorkerMetrics(
  worker: Worker,
  broker: Broker,
  tasks: readonly TaskImplementation[],
  port: number,
  host: string,
): Promise<void> {
  const { registry } = collectWorkerMetrics(worker, {
    broker,
    taskNames: tasks.map((t) => t.contract.name),
  });
  try {
    await serveMetrics({ registry, port, host });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE'
        ? 'the port is in use'
        : code === 'EACCES'
          ? 'not allowed to bind it'
          : code === 'EADDRNOTAVAIL'
            ? 'no such local address'
            : String(error);
    throw new ConfigError(
      `cannot serve metrics on ${host}:${port}: ${why}${code ? ` (${code})` : ''}; pick another --metrics-port or --metrics-host`,
      { cause: error },
    );
  }
}

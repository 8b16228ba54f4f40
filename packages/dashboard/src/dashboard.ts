import type { AddressInfo } from 'node:net';
import type { Broker, ResultBackend } from '@celeriac/core';
import { flowStoreOf } from '@celeriac/core/adapter';
import type { EventReceiver } from '@celeriac/core/worker';
import { serve } from '@hono/node-server';
import type { DashboardControl } from './actions.js';
import { FleetState } from './fleet-state.js';
import { QueueMonitor } from './queue-monitor.js';
import { assertSafeBind, isLoopback, loopbackHosts } from './security.js';
import { createApp } from './server.js';

/** Options of {@link createDashboard}. */
export interface DashboardOptions {
  readonly broker: Broker;
  readonly backend: ResultBackend;
  /** The broker's Celery event stream (`createEventReceiver(url)` of the adapter). */
  readonly events: EventReceiver;
  /** Queues to watch from the start; queues named by events are added as they appear. @default ['celery'] */
  readonly queues?: readonly string[];
  /** @default 5555, Flower's */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Required on every request; required to bind anything but loopback. At least 16 characters. */
  readonly token?: string;
  /**
   * The control plane (a `ControlClient`), for Terminate; without it, revoke is stored in the
   * backend only. Closed by the caller.
   */
  readonly control?: DashboardControl;
  /** Tasks kept in memory. @default 10_000 */
  readonly maxTasks?: number;
  /** How often queue depth is read. @default 2000 */
  readonly pollMs?: number;
}

/** A running dashboard. */
export interface Dashboard {
  /** Where it listens, e.g. `http://127.0.0.1:5555/`. */
  readonly url: string;
  readonly port: number;
  /** Stops serving and listening to events. The broker, backend and receiver are the caller's to close. */
  close(): Promise<void>;
}

/**
 * Starts the dashboard: workers, queues (with pause and resume), tasks, workflows, dead letters
 * with redrive, throughput and latency, live over the Celery event stream. Binds 127.0.0.1 unless told otherwise, and refuses to bind
 * anything else without a token.
 *
 * @example
 * ```ts
 * const dashboard = await createDashboard({
 *   broker: createBroker(url),
 *   backend: createResultBackend(url),
 *   events: createEventReceiver(url),
 * });
 * console.log(dashboard.url);
 * ```
 */
export async function createDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  assertSafeBind(host, options.token);
  const flow = flowStoreOf(options.backend);
  const queues = new QueueMonitor(
    options.broker,
    options.queues?.length ? options.queues : ['celery'],
    undefined,
    flow ? () => flow.pausedQueues() : undefined,
  );
  const fleet = new FleetState({
    ...(options.maxTasks ? { maxTasks: options.maxTasks } : {}),
    onTaken: (queue) => queues.taken(queue),
  });
  const unsubscribe = await options.events.subscribe((event) => fleet.apply(event));
  queues.start(options.pollMs ?? 2_000);

  let port = options.port ?? 5555;
  const app = createApp({
    broker: options.broker,
    backend: options.backend,
    fleet,
    queues,
    control: options.control,
    token: options.token,
    // Read per request: with port 0 the port is known only once listening.
    allowHost: isLoopback(host) ? (h) => loopbackHosts(port).has(h) : undefined,
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port, hostname: host }, () => resolve(s));
    s.once('error', reject);
  });
  port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    async close() {
      unsubscribe();
      queues.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Live streams keep connections open: end them rather than wait for the browser.
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    },
  };
}

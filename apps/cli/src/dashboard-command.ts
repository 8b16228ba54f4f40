import { ConfigError } from '@celeriac/core';
import { type ControlClient, type ControlTransport, createControlClient } from '@celeriac/core/producer';
import type { DashboardOptions } from '@celeriac/dashboard';
import { controlTransportFromUrl, eventReceiverFromUrl } from './adapters.js';
import { type ConnectionFlags, connect } from './connect.js';

/** Options of `celeriac dashboard`. */
export interface DashboardFlags extends ConnectionFlags {
  readonly queue?: readonly string[];
  readonly port: number;
  readonly host: string;
  readonly token?: string;
  /** Celery's `control_exchange`, for the control plane's revoke and terminate. @default $CELERIAC_CONTROL_NAMESPACE */
  readonly namespace?: string;
}

/** The dashboard package, loaded only when asked for: it is an optional peer of the CLI. */
async function loadDashboard(): Promise<typeof import('@celeriac/dashboard')> {
  try {
    return await import('@celeriac/dashboard');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND')
      throw new ConfigError('celeriac dashboard needs the package @celeriac/dashboard: install it', {
        cause: error,
      });
    throw error;
  }
}

/** `celeriac dashboard`: serves the web dashboard on the broker and backend the flags name, until interrupted. */
export async function dashboardCommand(flags: DashboardFlags): Promise<number> {
  const { createDashboard } = await loadDashboard();
  const conn = await connect(flags);
  const events = await eventReceiverFromUrl<DashboardOptions['events']>(flags.broker).catch(async (error) => {
    await conn.close();
    throw error;
  });
  let control: ControlClient | undefined;
  try {
    // The control plane, so Terminate reaches running tasks and a revoke reaches workers at once.
    control = createControlClient(
      await controlTransportFromUrl<ControlTransport>(
        flags.broker,
        flags.namespace ?? process.env.CELERIAC_CONTROL_NAMESPACE,
      ),
    );
    const dashboard = await createDashboard({
      broker: conn.broker,
      backend: conn.backend,
      events,
      control,
      queues: flags.queue ?? [],
      port: flags.port,
      host: flags.host,
      ...(flags.token ? { token: flags.token } : {}),
    });
    console.log(`celeriac dashboard on ${dashboard.url}${flags.token ? ' (open it with ?token=…)' : ''}`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await dashboard.close();
    return 0;
  } finally {
    await control?.close();
    await events.close();
    await conn.close();
  }
}

import { Command, Option } from 'commander';
import { connectByUrl } from './adapters.js';
import { createDashboard } from './dashboard.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new Error(`not a port: ${value}`);
  return n;
}

/**
 * The `dashboard` command: `--broker URL [--backend URL] [--queue NAME…] [--port 5555]
 * [--host 127.0.0.1] [--token T]`. The `celeriac-dashboard` bin runs it; a CLI can mount it with
 * `program.addCommand(dashboardCommand())`.
 */
export function dashboardCommand(name = 'dashboard'): Command {
  return new Command(name)
    .description('serve the web dashboard: workers, queues, tasks, dead letters, live')
    .addOption(new Option('--broker <url>', 'broker URL').env('CELERIAC_BROKER_URL').makeOptionMandatory())
    .addOption(
      new Option('--backend <url>', 'result backend URL (default: the broker’s)').env(
        'CELERIAC_RESULT_BACKEND',
      ),
    )
    .option('--queue <name...>', 'queues to watch from the start (default: celery)')
    .addOption(new Option('--port <port>', 'port').default(5555).argParser(port))
    .option('--host <host>', 'address to bind; anything but loopback needs --token', '127.0.0.1')
    .addOption(
      new Option('--token <token>', 'required on every request (at least 16 characters)').env(
        'CELERIAC_DASHBOARD_TOKEN',
      ),
    )
    .action(
      async (o: {
        broker: string;
        backend?: string;
        queue?: string[];
        port: number;
        host: string;
        token?: string;
      }) => {
        const connections = await connectByUrl(o.broker, o.backend);
        let dashboard: Awaited<ReturnType<typeof createDashboard>>;
        try {
          dashboard = await createDashboard({
            ...connections,
            queues: o.queue ?? [],
            port: o.port,
            host: o.host,
            ...(o.token ? { token: o.token } : {}),
          });
        } catch (error) {
          await connections.close();
          throw error;
        }
        console.log(`celeriac dashboard on ${dashboard.url}${o.token ? ' (open it with ?token=…)' : ''}`);
        const stop = async () => {
          await dashboard.close();
          await connections.close();
          process.exit(0);
        };
        process.once('SIGINT', () => void stop());
        process.once('SIGTERM', () => void stop());
      },
    );
}

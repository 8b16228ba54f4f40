import { ConfigError } from '@celeriac/core';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

/** The worker's settings, from flags or their CELERIAC_* environment variables. */
export interface WorkerOptions {
  readonly broker: string;
  readonly backend?: string;
  readonly queue?: string[];
  readonly concurrency: number;
  readonly autoscale?: { min: number; max: number };
  readonly tasks?: string;
  readonly grace: number;
  readonly hostname?: string;
  readonly metricsPort?: number;
  readonly metricsHost: string;
  readonly events: boolean;
  readonly trackStarted: boolean;
  readonly control: boolean;
  readonly controlNamespace?: string;
  readonly deadLetterOnFailure: boolean;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 1 || n > 65535)
    throw new InvalidArgumentError('must be a port number from 1 to 65535');
  return n;
}

function nonEmpty(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('must not be empty');
  return value;
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

/**
 * The command line. Environment variables are commander's own `Option.env`, so a value from
 * CELERIAC_CONCURRENCY goes through the same parser as `--concurrency` and is refused the same way.
 */
export function workerCommand(): Command {
  return (
    new Command('celeriac-worker')
      .description(
        'Run Celeriac task implementations, consuming from a broker picked by URL. Before saying "ready" it checks the broker and the result backend (reachable, authenticated, the URL\'s database) and binds the metrics port; any startup problem exits with status 2 and one line naming it.',
      )
      .addOption(
        new Option('--broker <url>', 'broker URL (memory://, redis://, amqp://, kafka://)')
          .env('CELERIAC_BROKER_URL')
          .argParser(nonEmpty)
          .default('memory://'),
      )
      .addOption(
        new Option(
          '--backend <url>',
          "result backend URL (memory://, redis://; default: the broker's own Redis)",
        )
          .env('CELERIAC_RESULT_BACKEND')
          .argParser(nonEmpty),
      )
      .option('--queue <name...>', 'queues to consume (default: the tasks\' queues, else "celery")')
      .addOption(
        new Option('--concurrency <n>', 'tasks run at once')
          .env('CELERIAC_CONCURRENCY')
          .argParser(positiveInt)
          .default(10),
      )
      .option('--autoscale <min,max>', 'scale concurrency with queue depth', range)
      .addOption(
        new Option(
          '--tasks <module>',
          'module exporting task implementations (a path or package name, resolved from the current directory)',
        )
          .env('CELERIAC_TASKS')
          .argParser(nonEmpty),
      )
      .option('--grace <ms>', 'shutdown grace period in ms', positiveInt, 30_000)
      .option('--hostname <name>', 'node name in results and events')
      .option(
        '--events',
        'send Celery task events from the start (for Flower, celery events); with remote control on, heartbeats are sent anyway and enable_events turns task events on',
        false,
      )
      .option('--track-started', 'store STARTED when a task starts (one more write per task)', false)
      .option(
        '--dead-letter-on-failure',
        "move a task that failed for good to its queue's dead letters instead of acknowledging it, so `celeriac dlq redrive` runs it again (a contract's own deadLetterOnFailure wins)",
        false,
      )
      .option(
        '--no-control',
        'do not answer remote control (celery inspect/control, Flower, celeriac inspect)',
      )
      .addOption(
        new Option('--control-namespace <name>', "Celery's control_exchange")
          .env('CELERIAC_CONTROL_NAMESPACE')
          .argParser(nonEmpty),
      )
      .option(
        '--metrics-port <port>',
        'serve Prometheus metrics on <metrics-host>:<port>/metrics (bound before "ready"; a port in use stops the start)',
        port,
      )
      .option(
        '--metrics-host <host>',
        'address the metrics server binds (0.0.0.0 for a scraper elsewhere)',
        '127.0.0.1',
      )
      .exitOverride()
      // The error comes back as a ConfigError and is logged once, as one line, by the caller.
      .configureOutput({ outputError: () => {} })
  );
}

/** Thrown instead of exiting when `--help` or `--version` was asked for. */
export class HelpShown extends Error {}

/**
 * Parses argv and the environment. Bad input is a ConfigError (CONFIG_INVALID) whose message is
 * commander's, naming the flag or the environment variable. An empty variable counts as unset.
 */
export function parseWorkerOptions(argv: readonly string[] = process.argv): WorkerOptions {
  const program = workerCommand();
  // An empty variable counts as unset (`docker run -e CELERIAC_TASKS=` clears it), as it always has.
  for (const option of program.options) {
    if (option.envVar && process.env[option.envVar] === '') delete process.env[option.envVar];
  }
  try {
    program.parse(argv as string[]);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) throw new HelpShown(error.message);
      throw new ConfigError(`${error.message.replace(/^error: /, '')} (see celeriac-worker --help)`, {
        cause: error,
      });
    }
    throw error;
  }
  return program.opts<WorkerOptions>();
}

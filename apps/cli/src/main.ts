#!/usr/bin/env node
import { CeleriacError, ConfigError } from '@celeriac/core';
import { Command, InvalidArgumentError, Option } from 'commander';
import { controlCommand, inspectCommand, statusCommand } from './control-commands.js';
import { dashboardCommand } from './dashboard-command.js';
import { enqueueCommand } from './enqueue-command.js';
import { eventsCommand } from './events-command.js';
import { addFlowCommands } from './flow-commands.js';
import { depthCommand, dlqCommand, purgeCommand, resultCommand } from './inspect-commands.js';
import { addScheduleCommands } from './schedule-command.js';

// commander gives us subcommands, validation and help text; no hand-written argv parsing.
function int(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

/** A usage error (bad flag, bad environment value, missing argument) as one CONFIG_INVALID line. */
function usageLine(text: string): string {
  const problem = text.trim().replace(/^error: /, '');
  return `celeriac: ${new ConfigError(`${problem} (see celeriac --help)`).message}\n`;
}

// Environment variables are commander's own `Option.env`: a value is read and checked as its flag.
const program = new Command('celeriac')
  .description('Enqueue Celeriac tasks and inspect results, queues and dead letters.')
  .addOption(
    new Option('--broker <url>', 'broker URL (memory://, redis://, amqp://, kafka://)')
      .env('CELERIAC_BROKER_URL')
      .default('redis://127.0.0.1:6379'),
  )
  .addOption(
    new Option(
      '--backend <url>',
      "result backend URL (default: the broker's own server where it has one, e.g. Redis)",
    ).env('CELERIAC_RESULT_BACKEND'),
  )
  // Set before the subcommands are added, so they inherit both: a usage error is one line and
  // exit status 2, like any other failure of a command.
  .configureOutput({ outputError: (text, write) => write(usageLine(text)) })
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

const run = (fn: () => Promise<number>) => {
  fn().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`celeriac: ${CeleriacError.is(error) ? error.message : String(error)}`);
      // Exit now: a client still retrying an unreachable server would keep the process alive.
      process.exit(2);
    },
  );
};

program
  .command('enqueue <task> [json]')
  .description('enqueue a task; prints its id, or its result with --wait')
  .option('--queue <name>', 'queue to route to')
  .option('--wait', 'wait for the result and print it as JSON')
  .option('--timeout <ms>', 'how long --wait waits', int, 30_000)
  .option('--count <n>', 'enqueue N copies in batches and print their ids', int)
  .option('--batch <n>', 'messages per batch with --count', int, 1000)
  .option('--delay <ms>', 'run no sooner than this', int)
  .option('--priority <0-9>', '9 is most urgent', int)
  .option(
    '--contracts <module>',
    'module exporting task contracts (path or package, from the current directory): validate input before sending',
  )
  .action((task: string, json: string | undefined, o) =>
    run(() => enqueueCommand(task, json, { ...program.opts(), ...o })),
  );

program
  .command('result <id>')
  .description('print the state and result of a task')
  .option('--wait', 'wait until the task is finished')
  .option('--timeout <ms>', 'how long --wait waits', int, 30_000)
  .action((id: string, o) => run(() => resultCommand(id, { ...program.opts(), ...o })));

program
  .command('depth <queues...>')
  .description('waiting messages per queue')
  .action((queues: string[]) => run(() => depthCommand(queues, program.opts())));

program
  .command('purge <queue>')
  .description('remove waiting and delayed messages of a queue')
  .action((queue: string) => run(() => purgeCommand(queue, program.opts())));

program
  .command('dlq <action> <queue>')
  .description('list or redrive the dead letters of a queue (action: list | redrive)')
  .option('--limit <n>', 'how many to list', int, 100)
  .action((action: string, queue: string, o) =>
    run(() => dlqCommand(action, queue, { ...program.opts(), ...o })),
  );

program
  .command('events')
  .description('tail the Celery event stream: worker heartbeats and task events, one line each')
  .option('--json', 'one JSON object per line')
  .option('--type <prefix...>', 'only events whose type starts with a prefix (task-, worker-heartbeat, …)')
  .option('--count <n>', 'exit after N events', int)
  .action((o) => run(() => eventsCommand({ ...program.opts(), ...o })));

program
  .command('dashboard')
  .description('serve the web dashboard (needs @celeriac/dashboard): workers, queues, tasks, dead letters')
  .option('--queue <name...>', 'queues to watch from the start (default: celery)')
  .option('--port <port>', 'port', int, 5555)
  .option('--host <host>', 'address to bind; anything but loopback needs --token', '127.0.0.1')
  .option(
    '--token <token>',
    'required on every request (at least 16 characters)',
    process.env.CELERIAC_DASHBOARD_TOKEN,
  )
  .action((o) => run(() => dashboardCommand({ ...program.opts(), ...o })));

// Celery's remote control (pidbox), on Celeriac and Python workers alike.
const controlOptions = (c: Command) =>
  c
    .option('-d, --destination <nodes...>', 'node names (comma-separated or repeated); default: every node')
    .option('-t, --timeout <ms>', 'how long to wait for replies', int, 1000)
    .option('--namespace <name>', "Celery's control_exchange", process.env.CELERIAC_CONTROL_NAMESPACE)
    .option('--json', 'print the replies as JSON');

controlOptions(
  program
    .command('inspect <what> [args...]')
    .description(
      'ask workers: ping, stats, active, reserved, scheduled, registered, active_queues, revoked, conf, report, query_task <id...>, clock',
    ),
).action((what: string, args: string[], o) =>
  run(() => inspectCommand(what, args, { ...program.opts(), ...o })),
);

controlOptions(
  program
    .command('control <what> [args...]')
    .description(
      'tell workers: revoke <id...> [--terminate], rate_limit, time_limit, pool_grow, pool_shrink, autoscale, add_consumer, cancel_consumer, enable_events, disable_events, heartbeat, shutdown',
    )
    .option('--terminate', 'with revoke: also abort attempts already running')
    .option('--signal <name>', 'with revoke --terminate: the signal name reported', 'SIGTERM'),
).action((what: string, args: string[], o) =>
  run(() => controlCommand(what, args, { ...program.opts(), ...o })),
);

controlOptions(program.command('status').description('which workers answer (celery status)')).action((o) =>
  run(() => statusCommand({ ...program.opts(), ...o })),
);

addScheduleCommands(program, run);
addFlowCommands(program, run);

// An empty variable counts as unset, as it always has.
for (const option of program.options) {
  if (option.envVar && process.env[option.envVar] === '') delete process.env[option.envVar];
}
program.parse();

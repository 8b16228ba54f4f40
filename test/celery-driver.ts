import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ResultBackend } from '@celeriac/core';
import { type Client, createClient } from '@celeriac/core/producer';
import { createWorker, type TaskImplementation } from '@celeriac/core/worker';

/** Where the Python side of the interop tests lives: `py_tasks.py` (the worker app) and the driver scripts. */
const here = fileURLToPath(new URL('./interop/', import.meta.url));

/** The Python interpreter with Celery, and the Redis both sides use. */
export interface CeleryDriverEnv {
  readonly python: string;
  readonly redisUrl: string;
}

function spawnPython(c: CeleryDriverEnv, args: readonly string[], ignoreOutput = false): ChildProcess {
  return spawn(c.python, args, {
    cwd: here,
    env: { ...process.env, CELERIAC_REDIS_URL: c.redisUrl },
    ...(ignoreOutput ? { stdio: 'ignore' as const } : {}),
  });
}

/** Runs a Python script of `test/interop` to its end: its standard output, or a rejection with its stderr. */
export function runPython(c: CeleryDriverEnv, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawnPython(c, args);
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${c.python} exited ${code}: ${err}`)),
    );
  });
}

/** A Python script left running: `started` once it prints `"listening"`, `output` (all stdout) once it ends. */
export interface PythonListener {
  readonly child: ChildProcess;
  readonly started: Promise<void>;
  readonly output: Promise<string>;
}

/** Starts a Python script of `test/interop` that announces `"listening"` before it waits for something. */
export function startPython(c: CeleryDriverEnv, args: readonly string[]): PythonListener {
  const child = spawnPython(c, args);
  let out = '';
  let markStarted: () => void = () => {};
  const started = new Promise<void>((r) => (markStarted = r));
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('"listening"')) markStarted();
  });
  const output = new Promise<string>((resolve) => child.on('close', () => resolve(out)));
  return { child, output, started };
}

/** Starts a real Celery worker (threads pool) of the `py_tasks` app consuming `queue`; kill it with SIGTERM. */
export function startCeleryWorker(c: CeleryDriverEnv, queue: string, concurrency: number): ChildProcess {
  const args = ['-m', 'celery', '-A', 'py_tasks', 'worker', '-Q', queue, '-c', String(concurrency)];
  return spawnPython(c, [...args, '--pool', 'threads', '-l', 'warning', '-n', `py-${queue}@%h`], true);
}

/** One line a Python driver script prints per check it made. */
export interface PythonCheck {
  readonly check: string;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly type?: string;
  readonly error?: string;
}

/** A driver script's output (one JSON check a line), keyed by check name. */
export function parseChecks(out: string): Record<string, PythonCheck> {
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as PythonCheck)
      .map((c) => [c.check, c]),
  );
}

/** Both sides of an interop suite, running: see {@link startInterop}. */
export interface InteropSides {
  readonly client: Client;
  readonly backend: ResultBackend;
  /** Stops the Celery worker (SIGTERM), then the TypeScript worker, then the connections. */
  close(): Promise<void>;
}

/**
 * Starts both sides over one Redis: a TypeScript worker running `tasks` on `tsQueue` (with a client
 * and the result backend) and a Celery worker of `py_tasks` on `pyQueue`.
 */
export async function startInterop(
  c: CeleryDriverEnv,
  options: {
    readonly tsQueue: string;
    readonly pyQueue: string;
    readonly tasks: readonly TaskImplementation[];
    readonly concurrency: number;
    readonly pyConcurrency: number;
  },
): Promise<InteropSides> {
  const { createBroker } = await import('@celeriac/broker-redis');
  const { createResultBackend } = await import('@celeriac/backend-redis');
  const backend: ResultBackend = createResultBackend(c.redisUrl);
  const workerBroker = createBroker(c.redisUrl);
  const clientBroker = createBroker(c.redisUrl);
  const worker = createWorker({
    broker: workerBroker,
    backend,
    queues: [options.tsQueue],
    concurrency: options.concurrency,
    tasks: options.tasks,
  });
  await worker.start();
  const client = createClient({ broker: clientBroker, backend });
  const pyWorker = startCeleryWorker(c, options.pyQueue, options.pyConcurrency);
  return {
    client,
    backend,
    close: async () => {
      pyWorker.kill('SIGTERM');
      await worker.stop({ graceMs: 1000 });
      await Promise.allSettled([workerBroker.close(), clientBroker.close(), backend.close()]);
    },
  };
}

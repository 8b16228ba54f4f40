import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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

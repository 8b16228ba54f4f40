import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { waitFor } from '@celeriac/testkit';

const exec = promisify(execFile);
const here = fileURLToPath(new URL('./interop/', import.meta.url));

/** Where Python's Celery app for remote control finds its broker and namespace. */
export interface CeleryControlEnv {
  readonly python: string;
  readonly broker: string;
  readonly namespace: string;
}

function env(c: CeleryControlEnv): NodeJS.ProcessEnv {
  return { ...process.env, CTL_BROKER: c.broker, CTL_NS: c.namespace };
}

/** Runs `celery -A ctl_app <args>` (the real CLI) and returns its standard output. */
export async function celeryCli(c: CeleryControlEnv, args: readonly string[]): Promise<string> {
  const { stdout } = await exec(c.python, ['-m', 'celery', '-A', 'ctl_app', ...args], {
    cwd: here,
    env: env(c),
    timeout: 60_000,
  });
  return stdout;
}

/** `celery -A ctl_app inspect <what> -d <node> --json`, parsed. */
export async function celeryInspect(
  c: CeleryControlEnv,
  what: string,
  node: string,
  extra: readonly string[] = [],
): Promise<Record<string, unknown>> {
  const out = await celeryCli(c, ['inspect', what, ...extra, '-d', node, '-t', '5', '--json']);
  return JSON.parse(out.trim().split('\n')[0] as string) as Record<string, unknown>;
}

/** Every inspect command through Python's `app.control.inspect()`, for one node. */
export async function pythonInspectAll(
  c: CeleryControlEnv,
  node: string,
  taskId?: string,
): Promise<Record<string, Record<string, unknown> | unknown[] | null>> {
  const args = ['ctl_app.py', 'inspect', node, ...(taskId ? [taskId] : [])];
  const { stdout } = await exec(c.python, args, { cwd: here, env: env(c), timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as Record<
    string,
    Record<string, unknown> | unknown[] | null
  >;
}

/** One control command through Python's `app.control.broadcast(…, reply=True)`: the replies. */
export async function pythonControl(
  c: CeleryControlEnv,
  node: string,
  method: string,
  kwargs: Record<string, unknown>,
): Promise<Record<string, unknown>[]> {
  return (await pythonControlTimed(c, node, method, kwargs)).replies;
}

/** As {@link pythonControl}, with when Python sent the command (ms since the epoch). */
export async function pythonControlTimed(
  c: CeleryControlEnv,
  node: string,
  method: string,
  kwargs: Record<string, unknown>,
): Promise<{ sentAt: number; replies: Record<string, unknown>[] }> {
  const { stdout } = await exec(c.python, ['ctl_app.py', 'control', node, method, JSON.stringify(kwargs)], {
    cwd: here,
    env: env(c),
    timeout: 60_000,
  });
  const out = JSON.parse(stdout.trim().split('\n').at(-1) as string) as {
    sent: number;
    replies: Record<string, unknown>[];
  };
  return { sentAt: out.sent * 1000, replies: out.replies };
}

/** A Flower server of the test's own, on the test's broker and control namespace. */
export interface RunningFlower {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts `celery -A ctl_app flower` (its REST API open without auth) and waits until it answers. */
export async function startFlower(c: CeleryControlEnv, port: number): Promise<RunningFlower> {
  const child = spawn(
    c.python,
    [
      '-m',
      'celery',
      '-A',
      'ctl_app',
      'flower',
      `--port=${port}`,
      '--address=127.0.0.1',
      '--inspect_timeout=3000',
    ],
    { cwd: here, env: { ...env(c), FLOWER_UNAUTHENTICATED_API: 'true' }, stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`flower exited with ${child.exitCode}`);
        return fetch(`${url}/healthcheck`).then(
          (r) => r.ok,
          () => false,
        );
      },
      { timeoutMs: 30_000, what: 'Flower to answer' },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}

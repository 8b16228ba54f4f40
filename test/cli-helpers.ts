import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function built(relative: string): string {
  const path = fileURLToPath(new URL(`../${relative}`, import.meta.url));
  if (!existsSync(path)) throw new Error(`${path} is not built; run the build first (scripts/test does)`);
  return path;
}

/** Absolute path of a built CLI entry point: `celeriac-worker` (worker) or `celeriac` (cli). */
export function cliPath(app: 'worker' | 'cli'): string {
  return built(`apps/${app}/dist/main.js`);
}

/** The built `celeriac-demo` program (a private package: the demo is opt-in). */
export function demoPath(): string {
  return built('internal/demo-tasks/dist/demo.js');
}

/** The built demo task implementations, for `celeriac-worker --tasks`. */
export function demoTasksPath(): string {
  return built('internal/demo-tasks/dist/tasks.js');
}

/** The built demo task contracts, for `celeriac enqueue --contracts`. */
export function demoContractsPath(): string {
  return built('internal/demo-tasks/dist/index.js');
}

/** Runs a CLI to completion and returns its exit code and output. */
export function runCli(
  path: string,
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path, ...args], { env: { ...process.env, ...env }, cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A long-running CLI process whose output is collected as it comes. */
export interface RunningCli {
  readonly child: ChildProcess;
  output(): string;
  /** Waits until the output contains `text`, or until `text` (a test of the whole output so far) holds. */
  waitFor(text: string | ((output: string) => boolean), timeoutMs?: number): Promise<void>;
  exited(): Promise<number | null>;
}

/** Starts a CLI in the background. */
export function startCli(
  path: string,
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): RunningCli {
  const child = spawn(process.execPath, [path, ...args], { env: { ...process.env, ...env }, cwd });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited: () => exit,
    async waitFor(text, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      const seen = typeof text === 'string' ? () => out.includes(text) : () => text(out);
      while (!seen()) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`"${String(text)}" not seen; output:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

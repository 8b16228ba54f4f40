import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** How a run of a built command ended. */
export interface Exit {
  /** The exit code; null when it was killed for hanging. */
  readonly code: number | null;
  /** True when the process was still alive after the kill timeout and had to be killed. */
  readonly hung: boolean;
  readonly output: string;
}

/** A built entry point of this repository (`apps/worker/dist/main.js`, …); the build comes first. */
export function built(relative: string): string {
  const path = fileURLToPath(new URL(`../../../${relative}`, import.meta.url));
  if (!existsSync(path)) throw new Error(`${path} is not built; run the build first`);
  return path;
}

/**
 * Environment for a child process without the caller's CELERIAC_* settings, so only what a test
 * passes configures the command under test.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('CELERIAC_')) env[key] = value;
  }
  return { ...env, ...extra };
}

/**
 * Runs a command until it exits. The kill timeout is generous and is not a timing assertion: it
 * only turns a process that would hang forever into `hung: true`, which the test then fails on.
 */
export function runToExit(
  script: string,
  args: readonly string[],
  env: Record<string, string> = {},
  killAfterMs = 60_000,
): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env: cleanEnv(env) });
    let output = '';
    let hung = false;
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, killAfterMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, hung, output });
    });
  });
}

/** The pino lines of a worker's output at `fatal` level (60), parsed. */
export function fatalLines(output: string): { code?: string; msg: string }[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; code?: string; msg: string })
    .filter((line) => line.level === 60);
}

/** A command running in the background, its output collected as it comes. */
export interface Running {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves once `text` appears; rejects if the process exits first or after `timeoutMs`. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  exited(): Promise<number | null>;
}

/** Starts a command in the background (a worker that should run until stopped). */
export function startCommand(
  script: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Running {
  const child = spawn(process.execPath, [script, ...args], { env: cleanEnv(env) });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited: () => exit,
    async waitFor(text, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!out.includes(text)) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`"${text}" not seen; output:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

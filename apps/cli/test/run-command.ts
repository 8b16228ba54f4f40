import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** How a run of the built `celeriac` command ended. */
export interface Exit {
  /** The exit code; null when it was killed for hanging. */
  readonly code: number | null;
  /** True when the process was still alive after the kill timeout and had to be killed. */
  readonly hung: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/** The built `celeriac` entry point; the build comes first. */
export function celeriacBin(): string {
  const path = fileURLToPath(new URL('../dist/main.js', import.meta.url));
  if (!existsSync(path)) throw new Error(`${path} is not built; run the build first`);
  return path;
}

/**
 * Runs `celeriac` until it exits, without the caller's CELERIAC_* settings. The kill timeout is
 * generous and is not a timing assertion: it turns a hang into `hung: true` for the test to fail on.
 */
export function runCeleriac(
  args: readonly string[],
  env: Record<string, string> = {},
  killAfterMs = 60_000,
): Promise<Exit> {
  const base: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('CELERIAC_')) base[key] = value;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [celeriacBin(), ...args], { env: { ...base, ...env } });
    let stdout = '';
    let stderr = '';
    let hung = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, killAfterMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, hung, stdout, stderr });
    });
  });
}

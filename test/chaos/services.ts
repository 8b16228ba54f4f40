import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { repoRoot } from './target.js';

const run = promisify(execFile);

/** Runs `scripts/services <args>` (with extra environment) and resolves with its output. */
export async function services(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<string> {
  const { stdout } = await run(`${repoRoot}scripts/services`, args, {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    timeout: 300_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** The pid in one of the services' pid files (`.services/<name>/<file>`). */
export function servicePid(relative: string): number {
  const pid = Number(readFileSync(`${repoRoot}.services/${relative}`, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid in .services/${relative}`);
  return pid;
}

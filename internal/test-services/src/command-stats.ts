import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Runs `redis-cli` against a test's own server on `port` and resolves with its output. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  return (await exec('redis-cli', ['-p', String(port), ...args])).stdout;
}

/** Calls per command since the server's last `CONFIG RESETSTAT`, from `INFO commandstats`. */
export async function commandCounts(port: number): Promise<Record<string, number>> {
  const info = await redisCli(port, 'INFO', 'commandstats');
  const counts: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) counts[m[1] as string] = Number(m[2]);
  return counts;
}

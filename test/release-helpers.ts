import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** A finished command. */
export interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment for a package-manager child: ours without the `npm_*`/`PNPM_*` variables the
 * runner that started vitest set (they would steer the child), pnpm findable on PATH.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|pnpm_)/i.test(k)) env[k] = v;
  env.PATH = [join(repoRoot, '.tools/node_modules/.bin'), env.PATH ?? ''].join(delimiter);
  return { ...env, ...extra };
}

/** Runs a command to completion; never throws for a non-zero exit. */
export function run(
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = cleanEnv(),
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Whether a Docker engine answers (a `docker` CLI alone is not enough to build). */
export function dockerEngine(): boolean {
  return spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
}

const SKIP = new Set(['node_modules', 'dist', '.git', '.services', '.turbo', '.test-results', '.tools']);

/** Copies the work tree (sources, lockfile, changesets) without installs, builds or service state. */
export function copyRepo(to: string): void {
  cpSync(repoRoot, to, {
    recursive: true,
    filter: (src) => {
      const parts = relative(repoRoot, src).split(/[\\/]/);
      return !parts.some((p) => SKIP.has(p) || p.endsWith('.log'));
    },
  });
  mkdirSync(to, { recursive: true });
}

/** A workspace package that is published: its folder (relative to the root) and manifest. */
export interface Publishable {
  readonly dir: string;
  readonly name: string;
  readonly version: string;
}

/** Every package under packages/ and apps/ that is not private. */
export function publishablePackages(root = repoRoot): Publishable[] {
  return ['packages', 'apps'].flatMap((group) =>
    readdirSync(join(root, group))
      .map((name) => join(group, name))
      .filter((dir) => existsSync(join(root, dir, 'package.json')))
      .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) }))
      .filter(({ pkg }) => pkg.private !== true)
      .map(({ dir, pkg }) => ({ dir, name: pkg.name as string, version: pkg.version as string })),
  );
}

/** A failure message with the command's output, for `expect(…, message)`. */
export function output(ran: Ran): string {
  return `exit ${ran.code}\n--- stdout\n${ran.stdout.slice(-4000)}\n--- stderr\n${ran.stderr.slice(-4000)}`;
}

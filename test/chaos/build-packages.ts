import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './target.js';

/** Newest modification time of the files under `dir` (0 if missing). */
function newest(dir: string): number {
  if (!existsSync(dir)) return 0;
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) t = Math.max(t, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return t;
}

/**
 * Builds core, the Redis backend and the adapter: the worker processes run the built packages.
 * Skipped when every build is newer than its sources (the three chaos files run one after another).
 */
export function buildPackages(adapter: string): void {
  const packages = ['@celeriac/core', '@celeriac/backend-redis', adapter];
  const dirs = packages.map((p) => join(repoRoot, 'packages', p.replace('@celeriac/', '')));
  if (dirs.every((d) => newest(join(d, 'dist')) > newest(join(d, 'src')))) return;
  try {
    execFileSync('pnpm', [...packages.flatMap((p) => ['--filter', p]), 'build'], {
      cwd: repoRoot,
      stdio: 'inherit',
    });
  } catch (error) {
    // tsc still emits on a type error elsewhere in the tree; go on if the entry points exist.
    if (!dirs.every((d) => existsSync(join(d, 'dist/index.js')))) throw error;
  }
}

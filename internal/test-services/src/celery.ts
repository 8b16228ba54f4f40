import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** `CELERIAC_CELERY_PYTHON`, else the venv `scripts/services up celery` makes, found from the working directory up. */
function locate(): string {
  const fromEnv = process.env.CELERIAC_CELERY_PYTHON;
  if (fromEnv) return fromEnv;
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    const candidate = join(dir, '.services', 'celery-venv', 'bin', 'python');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return '';
  }
}

/**
 * The Python interpreter of a usable Celery install, for interop tests. Like {@link requireService}:
 * locally it returns `''` when Celery is missing (so the suite skips visibly); under `CI=true` it throws.
 */
export function requireCelery(): string {
  const python = locate();
  const ok = python !== '' && spawnSync(python, ['-c', 'import celery, kombu']).status === 0;
  if (!ok && process.env.CI === 'true') {
    throw new Error(
      '[celeriac:SERVICE_MISSING] Python Celery is not usable; start it with: scripts/services up celery',
    );
  }
  return ok ? python : '';
}

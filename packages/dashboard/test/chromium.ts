import { existsSync } from 'node:fs';

/**
 * The Chromium the browser tests drive (`scripts/services up chromium` installs Debian's).
 * Locally a missing browser skips them, visibly; under `CI=true` it fails the run.
 */
export function requireChromium(): string | undefined {
  const path = process.env.CELERIAC_CHROMIUM ?? '/usr/bin/chromium';
  if (existsSync(path)) return path;
  if (process.env.CI === 'true')
    throw new Error(
      `[celeriac:SERVICE_MISSING] chromium is not installed at ${path}; install it with: scripts/services up chromium`,
    );
  return undefined;
}

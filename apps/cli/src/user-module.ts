import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '@celeriac/core';

const TYPESCRIPT = /\.[cm]?tsx?$/;

/**
 * What `import()` should load for a module the user named on the command line, resolved from the
 * current directory (not from where this CLI is installed): a path (`./tasks.js`, `/abs/tasks.js`,
 * `dist/tasks.js`) becomes a file URL; a package name is resolved from the current directory's
 * `node_modules`, falling back to a plain import for packages whose exports `require` cannot see.
 */
export function resolveFromCwd(specifier: string, cwd = process.cwd()): string {
  const asPath = resolve(cwd, specifier);
  if (specifier.startsWith('.') || isAbsolute(specifier) || existsSync(asPath))
    return pathToFileURL(asPath).href;
  try {
    return pathToFileURL(createRequire(join(cwd, 'package.json')).resolve(specifier)).href;
  } catch {
    return specifier;
  }
}

/**
 * Imports a module the user named (`--tasks`, `--contracts`), resolved from the current directory.
 * A TypeScript file on a Node that cannot strip types fails with a message naming the fixes.
 */
export async function importUserModule(specifier: string, what: string): Promise<Record<string, unknown>> {
  const target = resolveFromCwd(specifier);
  try {
    return (await import(target)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && TYPESCRIPT.test(specifier)) {
      throw new ConfigError(
        `cannot load ${what} ${specifier}: Node ${process.version} cannot run TypeScript files. ` +
          'Compile it first (tsc) and pass the .js file, or run with a TypeScript loader: ' +
          `NODE_OPTIONS="--import tsx" (npm install -D tsx), or Node >= 22.18 / 23.6, which strip types`,
        { cause: error },
      );
    }
    const where = code === 'ERR_MODULE_NOT_FOUND' ? ` (looked from ${process.cwd()})` : '';
    throw new ConfigError(`cannot load ${what} ${specifier}${where}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '@celeriac/core';
import type { TaskImplementation } from '@celeriac/core/worker';

function isImplementation(v: unknown): v is TaskImplementation {
  return (
    typeof v === 'object' &&
    v !== null &&
    'contract' in v &&
    'handler' in v &&
    typeof (v as { handler: unknown }).handler === 'function'
  );
}

/**
 * Loads task implementations from a module: every exported implementation, and every
 * implementation inside exported arrays (e.g. `export const tasks = [implement(…), …]`).
 */
export async function loadTasks(specifier: string): Promise<TaskImplementation[]> {
  const target =
    specifier.startsWith('.') || specifier.startsWith('/')
      ? pathToFileURL(resolve(specifier)).href
      : specifier;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(target)) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`cannot load tasks module ${specifier}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const found = new Map<string, TaskImplementation>();
  for (const value of Object.values(mod)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (isImplementation(v)) found.set(v.contract.name, v);
    }
  }
  if (found.size === 0) throw new ConfigError(`tasks module ${specifier} exports no task implementations`);
  return [...found.values()];
}

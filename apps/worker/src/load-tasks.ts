import { importUserModule } from '@celeriac/cli/user-module';
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
 * Loads task implementations from a module, resolved from the current directory: every exported
 * implementation, and every implementation inside exported arrays (e.g. `export const tasks =
 * [implement(…), …]`). The check is structural, so a module built against its own copy of core works.
 */
export async function loadTasks(specifier: string): Promise<TaskImplementation[]> {
  const mod = await importUserModule(specifier, 'tasks module');
  const found = new Map<string, TaskImplementation>();
  for (const value of Object.values(mod)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (isImplementation(v)) found.set(v.contract.name, v);
    }
  }
  if (found.size === 0) throw new ConfigError(`tasks module ${specifier} exports no task implementations`);
  return [...found.values()];
}

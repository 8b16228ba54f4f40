import type { AnyTaskContract } from '@celeriac/core';
import { importUserModule } from './user-module.js';

function isContract(v: unknown): v is AnyTaskContract {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Partial<Record<keyof AnyTaskContract, unknown>>;
  const schema = (s: unknown) => typeof s === 'object' && s !== null && '~standard' in s;
  return typeof c.name === 'string' && schema(c.input) && schema(c.output) && typeof c.defaults === 'object';
}

/**
 * Task contracts by name from a module the user names with `--contracts`: every exported contract
 * (a `defineTask` value), and every contract inside exported arrays or objects of them.
 */
export async function loadContracts(specifier: string): Promise<ReadonlyMap<string, AnyTaskContract>> {
  const mod = await importUserModule(specifier, 'contracts module');
  const found = new Map<string, AnyTaskContract>();
  for (const value of Object.values(mod)) {
    const items = Array.isArray(value)
      ? value
      : value instanceof Map
        ? [...value.values()]
        : isContract(value)
          ? [value]
          : typeof value === 'object' && value !== null
            ? Object.values(value)
            : [];
    for (const v of items) if (isContract(v)) found.set(v.name, v);
  }
  return found;
}

import type { CarriedStore } from '@celeriac/core/adapter';
import { CARRIED_STORE_LUA } from './store-script.js';

/** One store as a broker on `target` runs it: the same script as `store()`, so ready states stay final. */
export function carriedStore(
  target: string,
  key: string,
  json: string,
  ttlMs: number,
  done: (reply: unknown) => void,
): CarriedStore {
  return { target, script: CARRIED_STORE_LUA, keys: [key], args: [json, ttlMs], done };
}

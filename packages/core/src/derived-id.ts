import { createHash } from 'node:crypto';

/**
 * A UUID-shaped id derived from `seed`: the same seed always gives the same id, so a message
 * published twice (a redelivered parent publishing its children again) carries the same task id
 * and the second copy is skipped by the worker.
 */
export function derivedId(seed: string): `${string}-${string}-${string}-${string}-${string}` {
  const h = createHash('sha256').update(`celeriac:${seed}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

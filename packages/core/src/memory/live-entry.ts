/**
 * The entry of `map` at `key`, unless it has expired (`expiresAt`, ms since the epoch, is past): the
 * in-memory stores expire entries lazily, so an expired one is removed here, on the read that finds it.
 */
export function liveEntry<K, V extends { readonly expiresAt: number }>(
  map: Map<K, V>,
  key: K,
): V | undefined {
  const entry = map.get(key);
  if (entry && entry.expiresAt <= Date.now()) {
    map.delete(key);
    return undefined;
  }
  return entry;
}

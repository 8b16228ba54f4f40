import { MemoryResultBackend } from './memory-backend.js';
import { MemoryBroker } from './memory-broker.js';

// One in-process broker/backend per URL, so `memory://name` means the same place within a process.
const brokers = new Map<string, MemoryBroker>();
const backends = new Map<string, MemoryResultBackend>();

/** The open instance kept under `url` in `map`, or a fresh one in place of a missing or closed one. */
function openOrFresh<T extends { readonly isClosed: boolean }>(
  map: Map<string, T>,
  url: string,
  fresh: () => T,
): T {
  let current = map.get(url);
  if (!current || current.isClosed) {
    current = fresh();
    map.set(url, current);
  }
  return current;
}

/**
 * The process-wide in-memory broker of a `memory://` URL: every caller with the same URL shares
 * it, and a closed one is replaced by a fresh one, never handed out.
 */
export function sharedMemoryBroker(url: string): MemoryBroker {
  return openOrFresh(brokers, url, () => new MemoryBroker());
}

/** The process-wide in-memory result backend of a `memory://` URL; see {@link sharedMemoryBroker}. */
export function sharedMemoryBackend(url: string): MemoryResultBackend {
  return openOrFresh(backends, url, () => new MemoryResultBackend());
}

import { MemoryResultBackend } from './memory-backend.js';
import { MemoryBroker } from './memory-broker.js';

// One in-process broker/backend per URL, so `memory://name` means the same place within a process.
const brokers = new Map<string, MemoryBroker>();
const backends = new Map<string, MemoryResultBackend>();

/**
 * The process-wide in-memory broker of a `memory://` URL: every caller with the same URL shares
 * it, and a closed one is replaced by a fresh one, never handed out.
 */
export function sharedMemoryBroker(url: string): MemoryBroker {
  let broker = brokers.get(url);
  if (!broker || broker.isClosed) {
    broker = new MemoryBroker();
    brokers.set(url, broker);
  }
  return broker;
}

/** The process-wide in-memory result backend of a `memory://` URL; see {@link sharedMemoryBroker}. */
export function sharedMemoryBackend(url: string): MemoryResultBackend {
  let backend = backends.get(url);
  if (!backend || backend.isClosed) {
    backend = new MemoryResultBackend();
    backends.set(url, backend);
  }
  return backend;
}

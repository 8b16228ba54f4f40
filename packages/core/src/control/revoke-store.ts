import type { ResultBackend } from '../result-backend.js';

/** How long a revoke is kept by default: longer than any sensible ETA, independent of result TTLs. */
export const DEFAULT_REVOKE_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** Most revokes kept, as Celery's `REVOKES_MAX`; the ones expiring first go first. */
export const DEFAULT_REVOKES_MAX = 50_000;

/** One persisted revoke. */
export interface RevokedEntry {
  readonly id: string;
  /** Ms since the epoch. */
  readonly expiresAt: number;
}

/**
 * The fleet's persisted revoked set, kept by a result backend next to the results: revokes survive
 * worker restarts and reach workers that were down, with an expiry of their own (not the result
 * TTL) and a bound on their number. Workers load it at start and hear new revokes as they are
 * added, so they need no read per task to honour them.
 */
export interface RevokeStore {
  /** Persists ids as revoked for `ttlMs`, and tells every listening worker. */
  addRevoked(ids: readonly string[], ttlMs?: number): Promise<void>;
  /** Every revoke that has not expired. */
  loadRevoked(): Promise<RevokedEntry[]>;
  /**
   * Calls `listener` with the ids of each revoke added from now on; `onResync` after the
   * subscription was lost and is back (revokes may have been missed: load them again). Resolves
   * once subscribed, with a function that stops listening.
   */
  onRevoked(listener: (ids: readonly string[]) => void, onResync?: () => void): Promise<() => Promise<void>>;
}

/** Whether a backend keeps a {@link RevokeStore} (all three methods present). */
export function hasRevokeStore(backend: ResultBackend | undefined): backend is ResultBackend & RevokeStore {
  const b = backend as Partial<RevokeStore> | undefined;
  return (
    typeof b?.addRevoked === 'function' &&
    typeof b.loadRevoked === 'function' &&
    typeof b.onRevoked === 'function'
  );
}

/**
 * An in-process {@link RevokeStore}: the memory backend's, and a reference for adapters. Bounded
 * by count (the soonest to expire go first) and by age.
 */
export class MemoryRevokeStore implements RevokeStore {
  private readonly entries = new Map<string, number>();
  private readonly listeners = new Set<(ids: readonly string[]) => void>();

  constructor(private readonly max = DEFAULT_REVOKES_MAX) {}

  async addRevoked(ids: readonly string[], ttlMs = DEFAULT_REVOKE_TTL_MS): Promise<void> {
    const expiresAt = Date.now() + ttlMs;
    for (const id of ids) this.entries.set(id, Math.max(expiresAt, this.entries.get(id) ?? 0));
    this.prune();
    const copy = [...ids];
    // Told before the add resolves: in one process, nothing published after it can be missed.
    for (const l of this.listeners) {
      try {
        l(copy);
      } catch {
        // A failing listener must not fail the revoke.
      }
    }
  }

  async loadRevoked(): Promise<RevokedEntry[]> {
    this.prune();
    return [...this.entries].map(([id, expiresAt]) => ({ id, expiresAt }));
  }

  async onRevoked(listener: (ids: readonly string[]) => void): Promise<() => Promise<void>> {
    this.listeners.add(listener);
    return async () => {
      this.listeners.delete(listener);
    };
  }

  private prune(): void {
    const now = Date.now();
    for (const [id, at] of this.entries) if (at <= now) this.entries.delete(id);
    if (this.entries.size <= this.max) return;
    const byExpiry = [...this.entries].sort((a, b) => a[1] - b[1]);
    for (const [id] of byExpiry.slice(0, this.entries.size - this.max)) this.entries.delete(id);
  }
}

/** Options for {@link RevokedSet}. */
export interface RevokedSetOptions {
  /** Most ids kept; the oldest go first. @default 50_000 (Celery's `REVOKES_MAX`) */
  readonly max?: number;
  /** How long an id is kept. @default 3 hours (Celery's `REVOKE_EXPIRES`) */
  readonly ttlMs?: number;
  readonly now?: () => number;
}

/**
 * Celery's in-memory revoked set: task ids a worker will not run, bounded in size and age so a
 * long-lived worker does not grow without end. Insertion-ordered, so eviction drops the oldest.
 */
export class RevokedSet {
  private readonly added = new Map<string, number>();
  private readonly max: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: RevokedSetOptions = {}) {
    this.max = Math.max(1, options.max ?? 50_000);
    this.ttlMs = options.ttlMs ?? 3 * 60 * 60 * 1000;
    this.now = options.now ?? Date.now;
  }

  /** Adds ids (refreshing those already present), then drops expired and excess ids. */
  add(ids: Iterable<string>, at = this.now()): void {
    for (const id of ids) {
      this.added.delete(id);
      this.added.set(id, at);
    }
    this.purge();
  }

  has(id: string): boolean {
    const at = this.added.get(id);
    if (at === undefined) return false;
    if (this.now() - at > this.ttlMs) {
      this.added.delete(id);
      return false;
    }
    return true;
  }

  get size(): number {
    return this.added.size;
  }

  /** Live ids, oldest first. */
  ids(): string[] {
    this.purge();
    return [...this.added.keys()];
  }

  /** Live ids with when they were added (ms since the epoch), oldest first. */
  entries(): [string, number][] {
    this.purge();
    return [...this.added.entries()];
  }

  private purge(): void {
    const cutoff = this.now() - this.ttlMs;
    for (const [id, at] of this.added) {
      if (at >= cutoff && this.added.size <= this.max) break;
      this.added.delete(id);
    }
  }
}

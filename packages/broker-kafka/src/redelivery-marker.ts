/**
 * Kafka does not count deliveries, and a record re-delivered after a crash looks exactly like a
 * new one. The adapter therefore keeps a small marker in the consumer group's commit metadata of
 * each partition, written before records are handed out:
 *
 * - `e`: the offset after the last record handed out, so every uncommitted record below it is known
 *   to have been delivered before;
 * - `r`: for such records delivered more than once, how many times (at most {@link MAX_TRACKED}).
 *
 * A new owner adds these earlier deliveries to the count carried in the record's headers.
 */

/** Most per-record counts kept in one partition's metadata (Kafka allows 4 KiB by default). */
export const MAX_TRACKED = 64;

interface MarkerData {
  readonly end: number | undefined;
  readonly counts: ReadonlyMap<number, number>;
}

/** Reads a marker; anything else (another tool's metadata, garbage) reads as no marker. */
export function parseMarker(metadata: string | null | undefined): MarkerData {
  const none = { end: undefined, counts: new Map<number, number>() };
  if (!metadata) return none;
  try {
    const data = JSON.parse(metadata) as { v?: unknown; e?: unknown; r?: unknown };
    if (data.v !== 1 || typeof data.e !== 'number') return none;
    const counts = new Map<number, number>();
    if (typeof data.r === 'object' && data.r !== null) {
      for (const [offset, n] of Object.entries(data.r)) {
        if (typeof n === 'number' && n > 1) counts.set(Number(offset), n);
      }
    }
    return { end: data.e, counts };
  } catch {
    return none;
  }
}

/** The marker of one partition while this member owns it. */
export class RedeliveryMarker {
  private readonly previous: MarkerData;
  private end: number | undefined;
  private readonly counts = new Map<number, number>();
  private persistedEnd: number | undefined;
  private unsaved = false;
  private version = 0;

  constructor(metadata: string | null | undefined) {
    this.previous = parseMarker(metadata);
    this.end = this.previous.end;
    this.persistedEnd = this.previous.end;
    for (const [offset, n] of this.previous.counts) this.counts.set(offset, n);
  }

  /** Deliveries of `offset` that happened before this member took the partition over. */
  prior(offset: number): number {
    if (this.previous.end === undefined || offset >= this.previous.end) return 0;
    return this.previous.counts.get(offset) ?? 1;
  }

  /** Notes that `offset` is about to be handed out; returns how often it was delivered before. */
  note(offset: number): number {
    const prior = this.prior(offset);
    if (
      prior > 0 &&
      this.counts.get(offset) !== prior + 1 &&
      (this.counts.has(offset) || this.counts.size < MAX_TRACKED)
    ) {
      this.counts.set(offset, prior + 1);
      this.changed();
    }
    if (this.end === undefined || offset + 1 > this.end) {
      this.end = offset + 1;
      if (this.persistedEnd === undefined || this.end > this.persistedEnd) this.changed();
    }
    return prior;
  }

  /** Whether the stored marker no longer covers what was noted. */
  get needsPersist(): boolean {
    return this.unsaved;
  }

  /** Shrinks the end to what was really handed out (before a final, exact commit). */
  trimTo(handedOutEnd: number | undefined): void {
    const floor = this.previous.end;
    const end = Math.max(floor ?? Number.NEGATIVE_INFINITY, handedOutEnd ?? Number.NEGATIVE_INFINITY);
    const next = Number.isFinite(end) ? end : undefined;
    if (next !== this.end) {
      this.end = next;
      this.changed();
    }
  }

  /** The metadata to commit with `commitPoint`, or null when nothing above it was handed out. */
  metadata(commitPoint: number): string | null {
    for (const offset of this.counts.keys()) if (offset < commitPoint) this.counts.delete(offset);
    if (this.end === undefined || this.end <= commitPoint) return null;
    const r: Record<string, number> = {};
    for (const [offset, n] of this.counts) if (offset < this.end) r[offset] = n;
    return JSON.stringify(Object.keys(r).length ? { v: 1, e: this.end, r } : { v: 1, e: this.end });
  }

  /** The state a commit is about to carry, for {@link persisted}. */
  snapshot(): { readonly end: number | undefined; readonly version: number } {
    return { end: this.end, version: this.version };
  }

  /** Records that the marker as of `snapshot` was committed. */
  persisted(snapshot: { readonly end: number | undefined; readonly version: number }): void {
    this.persistedEnd = snapshot.end;
    if (snapshot.version === this.version) this.unsaved = false;
  }

  private changed(): void {
    this.unsaved = true;
    this.version++;
  }
}

/**
 * Kafka does not count deliveries, and a record re-delivered after a crash, a lost membership or a
 * rebalance looks exactly like a new one. The adapter therefore keeps a small marker in the
 * consumer group's commit metadata of each partition:
 *
 * - `e`: the offset after the last record handed out (what `depth` counts from);
 * - `x`: the offset after the last record that may have been handed out, when past `e`. A record
 *   goes out only once the group accepted a marker whose `x` (or `e`) covers it, so a member whose
 *   membership is gone (its commits refused) hands nothing out, and every record it did hand out,
 *   finished but not committed or not, reaches the next owner counted as delivered before;
 * - `r`: for records delivered more than once, how many times (at most {@link MAX_TRACKED}).
 *
 * A new owner adds these earlier deliveries to the count carried in the record's headers.
 */

/** Most per-record counts kept in one partition's metadata (Kafka allows 4 KiB by default). */
export const MAX_TRACKED = 64;

interface MarkerData {
  /** Offset after the last record handed out. */
  readonly end: number | undefined;
  /** Offset after the last record that may have been handed out (at least `end`). */
  readonly reserved: number | undefined;
  readonly counts: ReadonlyMap<number, number>;
}

/** What a commit carries of a marker, for {@link RedeliveryMarker.persisted}. */
export interface MarkerSnapshot {
  readonly reserved: number | undefined;
  readonly version: number;
}

/** Reads a marker; anything else (another tool's metadata, garbage) reads as no marker. */
export function parseMarker(metadata: string | null | undefined): MarkerData {
  const none = { end: undefined, reserved: undefined, counts: new Map<number, number>() };
  if (!metadata) return none;
  try {
    const data = JSON.parse(metadata) as { v?: unknown; e?: unknown; x?: unknown; r?: unknown };
    if (data.v !== 1 || typeof data.e !== 'number') return none;
    const counts = new Map<number, number>();
    if (typeof data.r === 'object' && data.r !== null) {
      for (const [offset, n] of Object.entries(data.r)) {
        if (typeof n === 'number' && n > 1) counts.set(Number(offset), n);
      }
    }
    const reserved = typeof data.x === 'number' ? Math.max(data.e, data.x) : data.e;
    return { end: data.e, reserved, counts };
  } catch {
    return none;
  }
}

const later = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.max(a, b);

/** The marker of one partition while this member owns it. */
export class RedeliveryMarker {
  private readonly previous: MarkerData;
  private end: number | undefined;
  private reserved: number | undefined;
  private readonly counts = new Map<number, number>();
  /** The `reserved` of the last marker the group accepted from this member (or the previous one). */
  private persistedReserved: number | undefined;
  private unsaved = false;
  /** Set while a redelivery count is not stored yet: it must be before the record leaves. */
  private countsUnsaved = false;
  private version = 0;
  private countsVersion = 0;

  constructor(metadata: string | null | undefined) {
    this.previous = parseMarker(metadata);
    this.end = this.previous.end;
    this.reserved = this.previous.reserved;
    this.persistedReserved = this.previous.reserved;
    for (const [offset, n] of this.previous.counts) this.counts.set(offset, n);
  }

  /** Deliveries of `offset` that happened before this member took the partition over. */
  prior(offset: number): number {
    if (this.previous.reserved === undefined || offset >= this.previous.reserved) return 0;
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
      // A record that came back may be what crashes workers: its count is stored before it leaves,
      // or a crash loop would never reach the delivery limit.
      this.counts.set(offset, prior + 1);
      this.countsUnsaved = true;
      this.countsVersion++;
      this.changed();
    }
    if (this.end === undefined || offset + 1 > this.end) {
      this.end = offset + 1;
      this.changed();
    }
    this.reserve(offset + 1);
    return prior;
  }

  /**
   * Extends the marker over records fetched but not handed out yet, so that one commit covers a
   * whole fetched batch. Over-marking costs the next owner a state read per record; a record
   * handed out past the stored marker could run again unseen.
   */
  reserve(end: number): void {
    if (this.reserved !== undefined && end <= this.reserved) return;
    this.reserved = end;
    this.changed();
  }

  /** Asks for the marker to be committed again (to learn whether this member may still commit). */
  touch(): void {
    this.changed();
  }

  /** Whether the stored marker no longer matches what was noted. */
  get needsPersist(): boolean {
    return this.unsaved;
  }

  /** Whether `offset` may be handed out now: the group holds a marker covering it and every count. */
  covers(offset: number): boolean {
    return !this.countsUnsaved && this.persistedReserved !== undefined && offset < this.persistedReserved;
  }

  /** Shrinks the reservation to what was really handed out (before a final, exact commit). */
  trimTo(handedOutEnd: number | undefined): void {
    const next = later(later(this.previous.reserved, this.end), handedOutEnd);
    if (next !== this.reserved) {
      this.reserved = next;
      this.changed();
    }
  }

  /** The metadata to commit with `commitPoint`, or null when nothing above it was handed out. */
  metadata(commitPoint: number): string | null {
    for (const offset of this.counts.keys()) if (offset < commitPoint) this.counts.delete(offset);
    if (this.reserved === undefined || this.reserved <= commitPoint) return null;
    const e = Math.max(this.end ?? commitPoint, commitPoint);
    const r: Record<string, number> = {};
    for (const [offset, n] of this.counts) if (offset < this.reserved) r[offset] = n;
    return JSON.stringify({
      v: 1,
      e,
      ...(this.reserved > e ? { x: this.reserved } : {}),
      ...(Object.keys(r).length ? { r } : {}),
    });
  }

  /** The state a commit is about to carry, for {@link persisted}. */
  snapshot(): MarkerSnapshot & { readonly countsVersion: number } {
    return { reserved: this.reserved, version: this.version, countsVersion: this.countsVersion };
  }

  /** Records that the marker as of `snapshot` was committed. */
  persisted(snapshot: MarkerSnapshot & { readonly countsVersion: number }): void {
    this.persistedReserved = snapshot.reserved;
    if (snapshot.version === this.version) this.unsaved = false;
    if (snapshot.countsVersion === this.countsVersion) this.countsUnsaved = false;
  }

  private changed(): void {
    this.unsaved = true;
    this.version++;
  }
}

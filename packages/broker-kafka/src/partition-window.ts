/**
 * The in-flight window of one partition. Records are handed out in offset order and may finish
 * in any order; the committable position is the offset of the oldest unfinished record (or, when
 * none is unfinished, the offset after the last one handed out). So a slow record is never
 * committed past, and a crash re-delivers exactly the records from that position on.
 *
 * Offsets need not be contiguous (compaction, transaction markers, deleted records): only records
 * actually handed out count.
 */
export class PartitionWindow {
  /** Handed-out records, oldest first; finished ones are dropped from the front. */
  private offsets: number[] = [];
  private done: boolean[] = [];
  private head = 0;
  private unfinished = 0;
  /** Offset after the last record handed out (or skipped), if any. */
  private next: number | undefined;

  constructor(start?: number) {
    this.next = start;
  }

  /** Records handed out and not finished. */
  get inFlight(): number {
    return this.unfinished;
  }

  /** Records between the committable position and the last one handed out. */
  get span(): number {
    return this.offsets.length - this.head;
  }

  /** Offset after the last record handed out, or undefined before the first. */
  get nextOffset(): number | undefined {
    return this.next;
  }

  /**
   * Starts an empty window at `offset` (the first record fetched), so that a commit can be made
   * before anything is handed out.
   */
  begin(offset: number): void {
    if (this.next === undefined) this.next = offset;
  }

  /** Whether `offset` was already handed out (or passed) by this window. */
  seen(offset: number): boolean {
    return this.next !== undefined && offset < this.next;
  }

  /** Hands out `offset`; offsets must grow. */
  add(offset: number): void {
    if (this.seen(offset)) throw new Error(`offset ${offset} is not after ${this.next}`);
    this.offsets.push(offset);
    this.done.push(false);
    this.unfinished++;
    this.next = offset + 1;
  }

  /** Marks `offset` finished; returns false when it is not in the window (already finished). */
  complete(offset: number): boolean {
    const index = this.find(offset);
    if (index < 0 || this.done[index]) return false;
    this.done[index] = true;
    this.unfinished--;
    while (this.head < this.offsets.length && this.done[this.head]) this.head++;
    if (this.head > 1024 && this.head * 2 > this.offsets.length) {
      this.offsets = this.offsets.slice(this.head);
      this.done = this.done.slice(this.head);
      this.head = 0;
    }
    return true;
  }

  /** The offset to commit: everything before it is finished. Undefined before the first record. */
  commitPoint(): number | undefined {
    return this.head < this.offsets.length ? this.offsets[this.head] : this.next;
  }

  /** Unfinished offsets, oldest first. */
  pending(): number[] {
    const out: number[] = [];
    for (let i = this.head; i < this.offsets.length; i++)
      if (!this.done[i]) out.push(this.offsets[i] as number);
    return out;
  }

  private find(offset: number): number {
    // Offsets are usually consecutive: try the slot they would have then before searching.
    const guess = this.head + (offset - (this.offsets[this.head] ?? offset));
    if (guess >= this.head && guess < this.offsets.length && this.offsets[guess] === offset) return guess;
    let lo = this.head;
    let hi = this.offsets.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const value = this.offsets[mid] as number;
      if (value === offset) return mid;
      if (value < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

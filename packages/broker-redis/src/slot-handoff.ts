/**
 * How long a handled delivery keeps its slot waiting for its ack: an ack that comes sooner fetches
 * the replacement in its own script call (one round trip per task, not two); a slower one (a slow
 * backend, a chord join) lets the fetch loop take the slot, so the next task is not held up.
 */
const HANDOFF_MS = 5;

/**
 * Deliveries whose handler is done, waiting a moment for their ack before their slot goes to the
 * fetch loop. One timer for all of them: a batch handled in one turn hands off together.
 */
export class SlotHandoff<T> {
  private readonly waiting = new Set<T>();
  private timer: NodeJS.Timeout | undefined;

  /** `giveSlot` runs for each delivery still waiting when the timer fires. */
  constructor(private readonly giveSlot: (item: T) => void) {}

  has(item: T): boolean {
    return this.waiting.has(item);
  }

  add(item: T): void {
    this.waiting.add(item);
    this.timer ??= setTimeout(() => this.handOff(), HANDOFF_MS);
  }

  /** Its ack (or another settlement) came first: nothing to hand off. */
  delete(item: T): void {
    this.waiting.delete(item);
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting.clear();
  }

  private handOff(): void {
    this.timer = undefined;
    const due = [...this.waiting];
    this.waiting.clear();
    for (const item of due) this.giveSlot(item);
  }
}

/**
 * Free slots of one consumer, shared by all its queues: the consumer never holds more unsettled
 * deliveries than its prefetch.
 */
export class Credits {
  private used = 0;
  private paused = false;
  private waiters: (() => void)[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(private limit: number) {}

  /** Slots free now (0 while paused). */
  get free(): number {
    return this.paused ? 0 : Math.max(0, this.limit - this.used);
  }

  get isPaused(): boolean {
    return this.paused;
  }

  take(): void {
    this.used++;
  }

  release(): void {
    this.used = Math.max(0, this.used - 1);
    this.notify();
  }

  setLimit(limit: number): void {
    this.limit = Math.max(1, Math.floor(limit));
    this.notify();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.notify();
  }

  /** Calls `listener` whenever slots become free. */
  onFree(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves true as soon as a slot is free, or false after `timeoutMs`. */
  waitForFree(timeoutMs: number): Promise<boolean> {
    if (this.free > 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(wake);
    });
  }

  private notify(): void {
    if (this.free <= 0) return;
    if (this.waiters.length > 0) for (const wake of this.waiters.splice(0)) wake();
    for (const listener of this.listeners) listener();
  }
}

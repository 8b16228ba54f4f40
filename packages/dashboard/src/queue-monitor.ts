import type { Broker } from '@celeriac/core';

/** What the queues page shows of one queue. */
export interface QueueView {
  readonly name: string;
  /** Waiting messages; null when the broker cannot tell or the last read failed. */
  readonly depth: number | null;
  /** Messages per second taken by workers (task-received events naming the queue). */
  readonly outRate: number;
  /** Messages per second arriving: taken plus the growth of the depth. */
  readonly inRate: number | null;
  /** Paused fleet-wide (workers fetch nothing from it); null when the backend keeps no flow state. */
  readonly paused: boolean | null;
  /**
   * How long the oldest waiting message has waited at most: the time since the queue was last seen
   * empty (no broker tells a message's age). Null when it is empty or was never seen empty.
   */
  readonly oldestWaitingMaxMs: number | null;
  /** Waiting messages since before the dashboard started watching, and never seen empty since. */
  readonly backlogSinceStart: boolean;
}

interface Sample {
  readonly at: number;
  readonly depth: number | null;
  readonly taken: number;
}

interface Entry {
  taken: number;
  samples: Sample[];
  /** The last poll that saw it empty; undefined before any. */
  lastEmptyAt?: number;
  /** A poll has seen it (so a backlog at the first one is older than the dashboard). */
  seen: boolean;
}

const newEntry = (): Entry => ({ taken: 0, samples: [], seen: false });

/** Queues learnt from events beyond the configured ones, at most. */
const MAX_LEARNT_QUEUES = 50;

/**
 * Polls the depth of the queues and counts what workers take from each, for depth and in/out
 * rates. The queues are the configured ones plus those named by `task-received` events.
 */
export class QueueMonitor {
  private readonly queues = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private paused: ReadonlySet<string> | null = null;

  constructor(
    private readonly broker: Pick<Broker, 'depth' | 'capabilities'>,
    queues: readonly string[],
    private readonly windowMs = 30_000,
    /** Reads the queues paused fleet-wide; absent when the backend keeps no flow state. */
    private readonly readPaused?: () => Promise<readonly string[]>,
  ) {
    for (const q of queues) this.queues.set(q, newEntry());
  }

  /** A worker took a message from `queue`. */
  taken(queue: string): void {
    let entry = this.queues.get(queue);
    if (!entry) {
      if (this.queues.size >= MAX_LEARNT_QUEUES) return;
      entry = newEntry();
      this.queues.set(queue, entry);
    }
    entry.taken++;
  }

  /** Reads every queue's depth once. */
  async poll(now = Date.now()): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      if (this.readPaused) {
        this.paused = new Set(await this.readPaused().catch(() => []));
        // A queue paused elsewhere is worth watching: its backlog grows.
        for (const q of this.paused)
          if (!this.queues.has(q) && this.queues.size < MAX_LEARNT_QUEUES) this.queues.set(q, newEntry());
      }
      await Promise.all(
        [...this.queues].map(async ([name, entry]) => {
          const depth = this.broker.capabilities.depth
            ? await this.broker.depth(name).catch(() => null)
            : null;
          entry.samples.push({ at: now, depth, taken: entry.taken });
          if (depth === 0) entry.lastEmptyAt = now;
          entry.seen ||= depth !== null;
          const cutoff = now - this.windowMs;
          while (entry.samples.length > 2 && (entry.samples[0]?.at ?? now) < cutoff) entry.samples.shift();
        }),
      );
    } finally {
      this.polling = false;
    }
  }

  /** Polls every `intervalMs` until {@link stop}. */
  start(intervalMs: number): void {
    void this.poll();
    this.timer = setInterval(() => void this.poll(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The queues as the page shows them, by name. */
  views(now = Date.now()): QueueView[] {
    return [...this.queues]
      .map(([name, { samples, lastEmptyAt, seen }]) => {
        const first = samples[0];
        const last = samples.at(-1);
        const seconds = first && last ? (last.at - first.at) / 1000 : 0;
        const outRate = first && last && seconds > 0 ? (last.taken - first.taken) / seconds : 0;
        const grew =
          first?.depth != null && last?.depth != null && seconds > 0
            ? (last.depth - first.depth) / seconds
            : null;
        const waiting = (last?.depth ?? 0) > 0;
        return {
          name,
          depth: last?.depth ?? null,
          outRate,
          inRate: grew === null ? null : Math.max(0, outRate + grew),
          paused: this.paused ? this.paused.has(name) : null,
          oldestWaitingMaxMs: waiting && lastEmptyAt !== undefined ? now - lastEmptyAt : null,
          backlogSinceStart: waiting && seen && lastEmptyAt === undefined,
        };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}

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
}

interface Sample {
  readonly at: number;
  readonly depth: number | null;
  readonly taken: number;
}

/** Queues learnt from events beyond the configured ones, at most. */
const MAX_LEARNT_QUEUES = 50;

/**
 * Polls the depth of the queues and counts what workers take from each, for depth and in/out
 * rates. The queues are the configured ones plus those named by `task-received` events.
 */
export class QueueMonitor {
  private readonly queues = new Map<string, { taken: number; samples: Sample[] }>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly broker: Pick<Broker, 'depth' | 'capabilities'>,
    queues: readonly string[],
    private readonly windowMs = 30_000,
  ) {
    for (const q of queues) this.queues.set(q, { taken: 0, samples: [] });
  }

  /** A worker took a message from `queue`. */
  taken(queue: string): void {
    let entry = this.queues.get(queue);
    if (!entry) {
      if (this.queues.size >= MAX_LEARNT_QUEUES) return;
      entry = { taken: 0, samples: [] };
      this.queues.set(queue, entry);
    }
    entry.taken++;
  }

  /** Reads every queue's depth once. */
  async poll(now = Date.now()): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      await Promise.all(
        [...this.queues].map(async ([name, entry]) => {
          const depth = this.broker.capabilities.depth
            ? await this.broker.depth(name).catch(() => null)
            : null;
          entry.samples.push({ at: now, depth, taken: entry.taken });
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
  views(): QueueView[] {
    return [...this.queues]
      .map(([name, { samples }]) => {
        const first = samples[0];
        const last = samples.at(-1);
        const seconds = first && last ? (last.at - first.at) / 1000 : 0;
        const outRate = first && last && seconds > 0 ? (last.taken - first.taken) / seconds : 0;
        const grew =
          first?.depth != null && last?.depth != null && seconds > 0
            ? (last.depth - first.depth) / seconds
            : null;
        return {
          name,
          depth: last?.depth ?? null,
          outRate,
          inRate: grew === null ? null : Math.max(0, outRate + grew),
        };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}

import { liveEntry } from '../memory/live-entry.js';
import type {
  DedupeClaim,
  DedupeMode,
  FlowStore,
  LeaseRef,
  RateRequest,
  RateReservation,
} from './flow-store.js';

interface DedupeEntry {
  id: string;
  started: boolean;
  expiresAt: number;
}

/**
 * Flow state in one process: the memory backend's {@link FlowStore}, and the reference the Redis
 * scripts follow. Each operation runs to completion in one turn, so it is atomic.
 */
export class MemoryFlowStore implements FlowStore {
  private readonly buckets = new Map<string, { next: number; starts: number[] }>();
  private readonly leases = new Map<string, Map<string, number>>();
  private readonly dedupe = new Map<string, DedupeEntry>();
  private readonly paused = new Set<string>();
  private readonly pauseListeners = new Set<(queue: string, paused: boolean) => void>();

  async reserveRate(key: string, r: RateRequest): Promise<RateReservation> {
    const now = Date.now();
    let b = this.buckets.get(key);
    if (!b || (b.next <= now && (b.starts.at(-1) ?? 0) <= now - r.windowMs)) {
      b = { next: 0, starts: [] };
      this.buckets.set(key, b);
    }
    const bucket = b;
    // When the window allows the next start: once the count-th latest start has left it.
    const nth = bucket.starts.length >= r.count ? bucket.starts[bucket.starts.length - r.count] : undefined;
    const free = nth === undefined ? now : Math.max(now, nth + r.windowMs);
    const start = (slot: number): RateReservation => {
      bucket.starts.push(now);
      if (bucket.starts.length > r.count) bucket.starts.splice(0, bucket.starts.length - r.count);
      return { granted: true, waitMs: 0, slot, startedAt: now };
    };
    const wait = (ms: number, slot: number): RateReservation => ({
      granted: false,
      waitMs: ms,
      slot,
      startedAt: 0,
    });
    if (r.slot !== undefined) {
      if (now < r.slot - r.toleranceMs) return wait(r.slot - now, r.slot);
      return free <= now ? start(r.slot) : wait(free - now, r.slot);
    }
    const at = Math.max(now, bucket.next);
    if (at - now > r.horizonMs) return wait(r.horizonMs, 0);
    bucket.next = at + r.intervalMs;
    if (at - now <= r.toleranceMs && free <= now) return start(at);
    return wait(Math.max(at, free) - now, at);
  }

  async retakeRate(
    key: string,
    r: Pick<RateRequest, 'count' | 'windowMs'>,
    startedAt: number,
  ): Promise<RateReservation> {
    const now = Date.now();
    const bucket = this.buckets.get(key);
    if (!bucket) return { granted: true, waitMs: 0, slot: 0, startedAt };
    const at = bucket.starts.lastIndexOf(startedAt);
    if (at >= 0) bucket.starts.splice(at, 1);
    const nth = bucket.starts.length >= r.count ? bucket.starts[bucket.starts.length - r.count] : undefined;
    const free = nth === undefined ? now : Math.max(now, nth + r.windowMs);
    if (free > now) return { granted: false, waitMs: free - now, slot: 0, startedAt: 0 };
    bucket.starts.push(now);
    return { granted: true, waitMs: 0, slot: 0, startedAt: now };
  }

  async acquireLease(key: string, holder: string, max: number, ttlMs: number): Promise<number> {
    const now = Date.now();
    let held = this.leases.get(key);
    if (!held) {
      held = new Map();
      this.leases.set(key, held);
    }
    for (const [h, until] of held) if (until <= now) held.delete(h);
    if (held.has(holder) || held.size < max) {
      held.set(holder, now + ttlMs);
      return 0;
    }
    return Math.max(1, Math.min(...held.values()) - now);
  }

  async renewLeases(leases: readonly LeaseRef[]): Promise<void> {
    const now = Date.now();
    for (const l of leases) {
      const held = this.leases.get(l.key);
      const until = held?.get(l.holder);
      if (held && until !== undefined && until > now) held.set(l.holder, now + l.ttlMs);
    }
  }

  async releaseLease(key: string, holder: string): Promise<void> {
    const held = this.leases.get(key);
    held?.delete(holder);
    if (held?.size === 0) this.leases.delete(key);
  }

  private live(key: string): DedupeEntry | undefined {
    return liveEntry(this.dedupe, key);
  }

  async claimDedupe(key: string, id: string, mode: DedupeMode, holdMs: number): Promise<DedupeClaim> {
    const current = this.live(key);
    if (current && (mode === 'skip' || mode === 'throttle')) return { id: current.id, created: false };
    this.dedupe.set(key, { id, started: false, expiresAt: Date.now() + holdMs });
    return { id, created: true };
  }

  async startDedupe(key: string, id: string): Promise<boolean> {
    const current = this.live(key);
    if (!current) return true;
    if (current.id !== id) return false;
    current.started = true;
    return true;
  }

  async finishDedupe(key: string, id: string, ttlMs: number): Promise<void> {
    const current = this.live(key);
    if (current?.id !== id) return;
    if (ttlMs > 0) current.expiresAt = Date.now() + ttlMs;
    else this.dedupe.delete(key);
  }

  async setQueuePaused(queue: string, paused: boolean): Promise<void> {
    if (paused) this.paused.add(queue);
    else this.paused.delete(queue);
    for (const l of this.pauseListeners) {
      try {
        l(queue, paused);
      } catch {
        // A failing listener must not fail the pause.
      }
    }
  }

  async pausedQueues(): Promise<string[]> {
    return [...this.paused];
  }

  async onQueuePause(listener: (queue: string, paused: boolean) => void): Promise<() => Promise<void>> {
    this.pauseListeners.add(listener);
    return async () => {
      this.pauseListeners.delete(listener);
    };
  }
}

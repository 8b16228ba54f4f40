import type { GroupConsumer, TopicPartition } from './transport/types.js';

/** Why a partition's fetching is paused. */
export type PauseReason = 'credits' | 'span' | 'due';

/**
 * The pause state of one partition: fetching stops while any reason holds and resumes when the
 * last one clears, so independent reasons never resume each other's pauses.
 */
export class PartitionGate {
  private readonly reasons = new Set<PauseReason>();

  constructor(
    private readonly tp: TopicPartition,
    private readonly group: GroupConsumer,
  ) {}

  has(reason: PauseReason): boolean {
    return this.reasons.has(reason);
  }

  block(reason: PauseReason): void {
    if (this.reasons.has(reason)) return;
    this.reasons.add(reason);
    if (this.reasons.size === 1) this.group.pause([this.tp]);
  }

  unblock(reason: PauseReason): void {
    if (this.reasons.delete(reason) && this.reasons.size === 0) this.group.resume([this.tp]);
  }

  /** Forgets every reason and resumes (the partition changes hands). */
  reset(): void {
    this.reasons.clear();
    this.group.resume([this.tp]);
  }
}

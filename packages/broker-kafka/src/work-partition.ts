import { PartitionGate } from './partition-gate.js';
import { PartitionWindow } from './partition-window.js';
import { RedeliveryMarker } from './redelivery-marker.js';
import type { CommittedOffset, GroupConsumer, OffsetCommit, TopicPartition } from './transport/types.js';

/** One owned partition of a work topic: its window, redelivery marker and pause state. */
export class WorkPartition {
  readonly window = new PartitionWindow();
  readonly gate: PartitionGate;
  /** Set when the partition went to another member: its deliveries no longer commit anything. */
  lost = false;
  /** Loads the group's committed offset and marker; handing out waits for it. */
  readonly ready: Promise<void>;
  private marker: RedeliveryMarker | undefined;
  private committed: { offset: number | undefined; metadata: string | null } = {
    offset: undefined,
    metadata: null,
  };

  constructor(
    readonly tp: TopicPartition,
    group: GroupConsumer,
    committed: Promise<readonly CommittedOffset[]>,
  ) {
    this.gate = new PartitionGate(tp, group);
    this.ready = committed.then(
      (list) => {
        const entry = list.find((c) => c.partition === tp.partition);
        this.committed = { offset: entry?.offset ?? undefined, metadata: entry?.metadata ?? null };
        this.marker = new RedeliveryMarker(entry?.metadata);
      },
      () => {
        // Without the stored marker, crash redeliveries count from the record headers only.
        this.marker = new RedeliveryMarker(null);
      },
    );
  }

  /** The marker, once {@link ready}. */
  get redelivery(): RedeliveryMarker {
    if (!this.marker) throw new Error('partition state used before it was loaded');
    return this.marker;
  }

  /** Makes the marker exact (it may run ahead of what was handed out) before a final commit. */
  trimMarker(): void {
    this.marker?.trimTo(this.window.nextOffset);
  }

  /** The commit this partition needs now, if any, and what to record when it succeeded. */
  pendingCommit(): { commit: OffsetCommit; done: () => void } | undefined {
    const marker = this.marker;
    const point = this.window.commitPoint();
    if (this.lost || !marker || point === undefined) return undefined;
    const metadata = marker.metadata(point);
    if (point === this.committed.offset && metadata === this.committed.metadata && !marker.needsPersist)
      return undefined;
    const snapshot = marker.snapshot();
    return {
      commit: { ...this.tp, offset: point, metadata },
      done: () => {
        this.committed = { offset: point, metadata };
        marker.persisted(snapshot);
      },
    };
  }
}

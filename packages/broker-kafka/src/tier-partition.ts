import { pickTier, releaseAt } from './delay-tiers.js';
import { DUE_AT_HEADER, withHeaders } from './headers.js';
import type { QueueTopics } from './naming.js';
import { PartitionGate } from './partition-gate.js';
import { republish } from './record-codec.js';
import type {
  GroupConsumer,
  OffsetCommit,
  ProduceRecord,
  TopicPartition,
  TransportRecord,
} from './transport/types.js';

/** When a delayed record is due (its header, or now when the header is missing or garbled). */
export function dueAtOf(record: TransportRecord, now: number): number {
  const due = Number(record.headers[DUE_AT_HEADER]);
  return Number.isFinite(due) && due > 0 ? due : now;
}

/** Where a delayed record goes next: the work topic when due, else the tier for what remains. */
export function routeDelayed(record: TransportRecord, topics: QueueTopics, now: number): ProduceRecord {
  const remaining = dueAtOf(record, now) - now;
  if (remaining <= 0)
    return republish(record, topics.work, withHeaders(record.headers, { [DUE_AT_HEADER]: undefined }));
  const tierMs = pickTier(
    topics.tiers.map((t) => t.delayMs),
    remaining,
  );
  const tier = topics.tiers.find((t) => t.delayMs === tierMs) ?? topics.tiers[0];
  return republish(record, tier?.topic ?? topics.work, record.headers);
}

/**
 * One owned partition of a delay-tier topic. Its head record is released when due; until then the
 * partition is paused with a timer, so waiting costs no fetches and blocks no other partition.
 */
export class TierPartition {
  readonly gate: PartitionGate;
  private timer: NodeJS.Timeout | undefined;
  private next: number | undefined;
  private committed: number | undefined;

  constructor(
    readonly tp: TopicPartition,
    readonly delayMs: number,
    group: GroupConsumer,
  ) {
    this.gate = new PartitionGate(tp, group);
  }

  /**
   * Re-publishes the due records at the front of `records` (confirmed before returning) and
   * returns how many it took; pauses until the first one that is not due yet.
   */
  async relay(
    records: readonly TransportRecord[],
    topics: QueueTopics,
    produce: (r: ProduceRecord[]) => Promise<void>,
  ): Promise<number> {
    const now = Date.now();
    const out: ProduceRecord[] = [];
    let last: TransportRecord | undefined;
    for (const record of records) {
      const at = releaseAt(this.delayMs, record.timestamp, dueAtOf(record, now));
      if (at > now) {
        this.waitUntil(at);
        break;
      }
      out.push(routeDelayed(record, topics, now));
      last = record;
    }
    if (!last) return 0;
    await produce(out);
    this.next = last.offset + 1;
    return out.length;
  }

  private waitUntil(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.gate.block('due');
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.gate.unblock('due');
      },
      Math.max(0, at - Date.now()),
    );
    this.timer.unref();
  }

  /** Stops waiting and forgets the pause (on revocation or close). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.gate.reset();
  }

  /** The commit this partition needs now, if any. */
  pendingCommit(): { commit: OffsetCommit; done: () => void } | undefined {
    const next = this.next;
    if (next === undefined || next === this.committed) return undefined;
    return {
      commit: { ...this.tp, offset: next },
      done: () => {
        this.committed = next;
      },
    };
  }
}

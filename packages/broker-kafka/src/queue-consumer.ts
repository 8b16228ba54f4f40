import type { CeleriacError, DeadLetterReason } from '@celeriac/core';
import type { Delivery } from '@celeriac/core/adapter';
import { type CommitPlan, Committer } from './committer.js';
import type { Credits } from './credits.js';
import { createKafkaDelivery, KafkaSettler, type SettlementHost } from './delivery.js';
import { toCeleriacError } from './errors.js';
import { DELIVERY_COUNT_HEADER, deliveryCountOf, headerOf } from './headers.js';
import type { QueueTopics } from './naming.js';
import type { ResolvedKafkaOptions } from './options.js';
import { produceInChunks } from './produce-chunks.js';
import { decodeRecord } from './record-codec.js';
import { deadLetterCopy, requeueCopy } from './record-copies.js';
import { TierPartition } from './tier-partition.js';
import type {
  CommittedOffset,
  GroupConsumer,
  GroupHandlers,
  KafkaTransport,
  ProduceRecord,
  RecordBatch,
  TopicPartition,
  TransportRecord,
} from './transport/types.js';
import { WorkPartition } from './work-partition.js';

/** What a {@link QueueConsumer} needs from its consumer and broker. */
export interface QueueConsumerDeps {
  readonly topics: QueueTopics;
  readonly transport: KafkaTransport;
  readonly options: ResolvedKafkaOptions;
  readonly credits: Credits;
  readonly onDelivery: (delivery: Delivery) => void;
  readonly onError: (error: CeleriacError) => void;
}

type State = 'running' | 'revoking' | 'closing' | 'closed' | 'crashed';

const key = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`;

/**
 * The member of one queue's consumer group inside a consumer. It owns some partitions of the work
 * topic, whose records it hands out up to the consumer's free slots (several per partition at
 * once), and some partitions of the queue's delay tiers, whose records it moves on when due.
 */
export class QueueConsumer implements GroupHandlers, SettlementHost {
  private readonly group: GroupConsumer;
  private readonly work = new Map<number, WorkPartition>();
  private readonly tiers = new Map<string, TierPartition>();
  private readonly committer: Committer;
  private readonly stopListening: () => void;
  private state: State = 'running';
  /**
   * Set when a commit was refused or the member is rejoining: its membership may be gone, so
   * nothing more is handed out until a commit succeeds again or a new assignment arrives.
   */
  private fenced = false;
  /** Counts {@link fence} calls, so a commit that started before one does not lift it. */
  private fences = 0;
  /** Deliveries handed out from partitions still owned and not settled. */
  private inFlight = 0;
  private drainWaiters: (() => void)[] = [];
  /** Set when a partition paused for want of slots, so freed slots check the partitions only then. */
  private creditsBlocked = false;
  private readonly onCommitError = (e: unknown) => {
    this.fence();
    this.report('committing', e);
  };
  private readonly settler = new KafkaSettler(this);

  constructor(private readonly deps: QueueConsumerDeps) {
    const { topics, options } = deps;
    this.group = deps.transport.createGroupConsumer({
      groupId: topics.group,
      topics: [topics.work, ...topics.tiers.map((t) => t.topic)],
      sessionTimeoutMs: options.sessionTimeoutMs,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      // The coordinator must wait for members that are finishing in-flight work before rejoining.
      rebalanceTimeoutMs: Math.max(60_000, options.revokeTimeoutMs + options.sessionTimeoutMs),
      fetchMaxWaitMs: options.fetchMaxWaitMs,
      handlers: this,
    });
    this.committer = new Committer(
      () => this.plan(),
      (offsets) => this.group.commit(offsets),
    );
    this.stopListening = deps.credits.onFree(() => this.onCreditsFree());
  }

  /** Joins the group; resolves after the first assignment. */
  start(): Promise<void> {
    return this.group.start();
  }

  onAssigned(partitions: readonly TopicPartition[]): void {
    const { topics, transport } = this.deps;
    const owned = new Set(partitions.filter((tp) => tp.topic === topics.work).map((tp) => tp.partition));
    for (const part of [...this.work.values()]) if (!owned.has(part.tp.partition)) this.lose(part);
    let committed: Promise<readonly CommittedOffset[]> | undefined;
    for (const partition of owned) {
      if (this.work.has(partition)) continue;
      if (!committed) {
        committed = transport.committedOffsets(topics.group, topics.work);
        committed.catch((e: unknown) => this.report('reading committed offsets', e));
      }
      const part = new WorkPartition({ topic: topics.work, partition }, this.group, committed);
      part.gate.reset();
      this.work.set(partition, part);
    }
    // Delay tiers restart from their committed offsets: re-reading a head is cheap.
    for (const tier of this.tiers.values()) tier.stop();
    this.tiers.clear();
    for (const tp of partitions) {
      const tier = topics.tiers.find((t) => t.topic === tp.topic);
      if (!tier) continue;
      const state = new TierPartition(tp, tier.delayMs, this.group);
      state.gate.reset();
      this.tiers.set(key(tp), state);
    }
    if (this.state === 'revoking') this.state = 'running';
    this.fenced = false;
  }

  onRejoining(): void {
    this.fence();
  }

  private fence(): void {
    this.fenced = true;
    this.fences++;
  }

  async onRevoking(_partitions: readonly TopicPartition[], keepAlive: () => Promise<void>): Promise<void> {
    if (this.state !== 'running') return;
    // Stop handing out, let in-flight deliveries finish within the bound, commit, then let go.
    this.state = 'revoking';
    for (const tier of this.tiers.values()) tier.stop();
    const { revokeTimeoutMs, heartbeatIntervalMs } = this.deps.options;
    const deadline = Date.now() + revokeTimeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline && this.state === 'revoking') {
      await this.drained(Math.min(deadline - Date.now(), heartbeatIntervalMs));
      if (this.inFlight > 0) await keepAlive();
    }
    for (const part of this.work.values()) part.trimMarker();
    await this.committer.flush().catch((e: unknown) => this.report('committing before a rebalance', e));
  }

  onLost(): void {
    this.fence();
    for (const part of [...this.work.values()]) this.lose(part);
    for (const tier of this.tiers.values()) tier.stop();
    this.tiers.clear();
  }

  onError(error: unknown): void {
    this.report('consumer', error);
  }

  async onRecords(batch: RecordBatch): Promise<number> {
    if (this.state !== 'running') return 0;
    if (batch.topic === this.deps.topics.work) return this.handOutBatch(batch);
    const tier = this.tiers.get(key(batch));
    if (!tier) return 0;
    try {
      const taken = await tier.relay(batch.records, this.deps.topics, (records) =>
        produceInChunks(this.deps.transport, records, this.deps.options.maxMessageBytes),
      );
      if (taken > 0)
        void this.committer.flush().catch((e: unknown) => this.report('committing delayed records', e));
      return taken;
    } catch (error) {
      this.report('moving delayed records', error);
      return 0;
    }
  }

  /** Hands out records of one work partition while slots are free; returns how many it took. */
  private async handOutBatch(batch: RecordBatch): Promise<number> {
    const part = this.work.get(batch.partition);
    if (!part) return 0;
    await part.ready;
    const { credits, options } = this.deps;
    const { records } = batch;
    // Waiting for slots is bounded per batch: other partitions, the delay tiers and heartbeats
    // must not wait behind a busy one.
    const waitUntil = Date.now() + options.fetchMaxWaitMs;
    let taken = 0;
    while (taken < records.length && this.state === 'running' && !part.lost) {
      const head = records[taken] as TransportRecord;
      if (part.window.seen(head.offset)) {
        // Handed out before a rebalance this member survived: not again.
        taken++;
        continue;
      }
      if (part.window.span >= options.maxUncommitted) {
        part.gate.block('span');
        break;
      }
      if (credits.free <= 0) {
        // Wait briefly for a slot (fast tasks free one within milliseconds); else pause the partition.
        const someoneWaits = [...this.work.values()].some((p) => p.gate.has('credits'));
        const budget = waitUntil - Date.now();
        if (credits.isPaused || someoneWaits || budget <= 0 || !(await credits.waitForFree(budget))) {
          part.gate.block('credits');
          this.creditsBlocked = true;
          break;
        }
        continue;
      }
      part.window.begin(head.offset);
      const room = Math.min(credits.free, options.maxUncommitted - part.window.span, records.length - taken);
      const end = taken + room;
      const marker = part.redelivery;
      for (let i = taken; i < end; i++) marker.note((records[i] as TransportRecord).offset);
      // The rest of the fetched batch goes out in later rounds: one commit covers them all.
      marker.reserve((records[records.length - 1] as TransportRecord).offset + 1);
      if (this.fenced) marker.touch();
      const last = (records[end - 1] as TransportRecord).offset;
      if (this.fenced || !marker.covers(last)) {
        const fences = this.fences;
        // Nothing leaves before the group accepted a marker covering it: a record finished but not
        // committed then comes back counted as a redelivery (and the worker checks its state), and
        // a member that lost its membership, whose commits are refused, hands nothing out.
        try {
          await this.committer.flush();
        } catch (error) {
          this.fence();
          this.report('storing the redelivery marker', error);
          break;
        }
        if (this.state !== 'running' || part.lost) break;
        // A fence raised while the commit was under way still holds.
        if (fences === this.fences) this.fenced = false;
        if (this.fenced || !marker.covers(last)) continue;
      } else if (marker.needsPersist) {
        // Only the exact end moved (what depth reads): stored in the next commit round.
        this.committer.request(this.onCommitError);
      }
      const n = Math.min(room, credits.free);
      for (let i = taken; i < taken + n; i++) {
        const record = records[i] as TransportRecord;
        this.handOut(part, record, marker.prior(record.offset));
      }
      taken += n;
    }
    return taken;
  }

  private handOut(part: WorkPartition, record: TransportRecord, prior: number): void {
    this.deps.credits.take();
    part.window.add(record.offset);
    this.inFlight++;
    const deliveryCount = deliveryCountOf(headerOf(record, DELIVERY_COUNT_HEADER)) + prior + 1;
    const delivery = createKafkaDelivery(
      this.deps.topics.queue,
      decodeRecord(record),
      { part, record, deliveryCount },
      this.settler,
    );
    try {
      this.deps.onDelivery(delivery);
    } catch (error) {
      this.report('onDelivery callback', error);
    }
  }

  /** {@link SettlementHost}: frees the slot, and finishes the offset while the partition is still ours. */
  settled(part: WorkPartition, offset: number): void {
    this.deps.credits.release();
    if (!this.released(part)) this.finish(part, offset);
  }

  publishRequeue(record: TransportRecord, deliveryCount: number, delayMs: number): Promise<void> {
    return this.produce(requeueCopy(this.deps.topics, record, deliveryCount, delayMs));
  }

  publishDeadLetter(record: TransportRecord, deliveryCount: number, reason: DeadLetterReason): Promise<void> {
    return this.produce(deadLetterCopy(this.deps.topics, record, deliveryCount, reason));
  }

  /** {@link SettlementHost}: whether the record went back to the queue already (closed, or the partition moved). */
  released(part: WorkPartition): boolean {
    return part.lost || this.state === 'closing' || this.state === 'closed' || this.state === 'crashed';
  }

  private finish(part: WorkPartition, offset: number): void {
    if (!part.window.complete(offset)) return;
    this.inFlight--;
    if (this.inFlight <= 0) this.wakeDrainWaiters();
    if (part.gate.has('span') && part.window.span < this.deps.options.maxUncommitted)
      part.gate.unblock('span');
    this.committer.request(this.onCommitError);
  }

  private produce(record: ProduceRecord): Promise<void> {
    return this.deps.transport.produce([record]);
  }

  private lose(part: WorkPartition): void {
    part.lost = true;
    this.inFlight -= part.window.inFlight;
    if (this.inFlight <= 0) this.wakeDrainWaiters();
    part.gate.reset();
    this.work.delete(part.tp.partition);
  }

  private onCreditsFree(): void {
    if (!this.creditsBlocked) return;
    this.creditsBlocked = false;
    for (const part of this.work.values()) if (part.gate.has('credits')) part.gate.unblock('credits');
  }

  private wakeDrainWaiters(): void {
    for (const wake of this.drainWaiters.splice(0)) wake();
  }

  private drained(timeoutMs: number): Promise<void> {
    if (this.inFlight <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, timeoutMs));
      this.drainWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private plan(): CommitPlan {
    const items = [
      ...[...this.work.values()].map((p) => p.pendingCommit()),
      ...[...this.tiers.values()].map((t) => t.pendingCommit()),
    ].filter((i) => i !== undefined);
    return {
      offsets: items.map((i) => i.commit),
      onCommitted: () => {
        for (const i of items) i.done();
      },
    };
  }

  private report(what: string, error: unknown): void {
    this.deps.onError(toCeleriacError(error, `${this.deps.topics.queue}: ${what}`));
  }

  /**
   * Stops handing out, commits what is finished (unsettled deliveries stay uncommitted, so the
   * group delivers them again) and leaves the group.
   */
  async close(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed' || this.state === 'crashed') return;
    this.state = 'closing';
    this.wakeDrainWaiters();
    this.stopListening();
    for (const tier of this.tiers.values()) tier.stop();
    for (const part of this.work.values()) part.trimMarker();
    await this.committer.flush().catch((e: unknown) => this.report('committing on close', e));
    this.committer.stop();
    await this.group.close().catch((e: unknown) => this.report('leaving the group', e));
    this.state = 'closed';
  }

  /** Drops everything without committing, as a killed process would (test hook). */
  async crash(): Promise<void> {
    if (this.state === 'closed' || this.state === 'crashed') return;
    this.state = 'crashed';
    this.wakeDrainWaiters();
    this.committer.stop();
    this.stopListening();
    for (const tier of this.tiers.values()) tier.stop();
    await this.group.close().catch(() => undefined);
  }
}

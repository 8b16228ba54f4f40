/**
 * The seam between the adapter's task-queue logic and a Kafka client library. Everything here is
 * in the adapter's own types, so another client (librdkafka-based or pure TypeScript) can replace
 * the kafkajs implementation without touching the logic above it.
 *
 * @packageDocumentation
 */

/** One partition of one topic. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** A record as consumed. Offsets are numbers: 2^53 records per partition is out of reach. */
export interface TransportRecord extends TopicPartition {
  readonly offset: number;
  readonly key: string | null;
  readonly value: Buffer | null;
  /** Header values decoded as UTF-8; a repeated key keeps its first value. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * One header's value as in {@link headers}, without decoding the others. Optional: the adapter
   * reads {@link headers} when a transport leaves it out; kafkajs's records have it, because the
   * per-record path needs only two headers.
   */
  header?(name: string): string | undefined;
  /** Milliseconds since the epoch (log-append time on topics configured for it). */
  readonly timestamp: number;
}

/** A record to produce. Without `partition`, the key picks one (murmur2, as Kafka's Java client). */
export interface ProduceRecord {
  readonly topic: string;
  readonly key: string | null;
  readonly value: string | Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly partition?: number;
}

/** A topic the adapter declares. */
export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  /** -1: the broker's default. */
  readonly replicationFactor: number;
  readonly config: Readonly<Record<string, string>>;
}

/** Low and high watermarks of one partition: records live in `[low, high)`. */
export interface PartitionWatermarks {
  readonly partition: number;
  readonly low: number;
  readonly high: number;
}

/** A consumer group's committed position in one partition. */
export interface CommittedOffset {
  readonly partition: number;
  /** Next offset to consume, or null when the group never committed one. */
  readonly offset: number | null;
  readonly metadata: string | null;
}

/** An offset (and optional metadata) to commit for a partition. */
export interface OffsetCommit extends TopicPartition {
  readonly offset: number;
  readonly metadata?: string | null;
}

/** What the coordinator says about a group. */
export interface GroupDescription {
  /** E.g. `Empty`, `Stable`, `PreparingRebalance`, `CompletingRebalance`, `Dead`. */
  readonly state: string;
  readonly members: number;
}

/** Records of one partition handed to the adapter, in offset order. */
export interface RecordBatch extends TopicPartition {
  readonly records: readonly TransportRecord[];
}

/** Callbacks a group consumer drives. Rebalance callbacks follow Kafka's eager protocol. */
export interface GroupHandlers {
  /**
   * Records of one partition. Resolves with how many of them, from the front, the adapter took;
   * the rest are fetched again (after a resume). Calls for one consumer never overlap.
   */
  onRecords(batch: RecordBatch): Promise<number>;
  /** After every join: the partitions this member now owns. */
  onAssigned(partitions: readonly TopicPartition[]): void;
  /**
   * Before this member gives its partitions up for a rebalance. Awaited: the member rejoins only
   * when it resolves, so it can finish in-flight work and commit. `keepAlive` keeps the membership
   * alive when the wait is long.
   */
  onRevoking(partitions: readonly TopicPartition[], keepAlive: () => Promise<void>): Promise<void>;
  /**
   * The member is about to rejoin (a rebalance, a refused heartbeat, a crashed runner): its
   * membership may be gone already, so hand nothing more out until the next assignment.
   */
  onRejoining?(): void;
  /** The partitions were taken away without a revocation (the member was expelled or restarted). */
  onLost(partitions: readonly TopicPartition[]): void;
  /** A transport error the consumer recovered from, for logs. */
  onError(error: unknown): void;
}

/** Options of a consumer-group member. */
export interface GroupConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly rebalanceTimeoutMs: number;
  /** Longest a fetch waits on the broker for new records; also bounds resume latency. */
  readonly fetchMaxWaitMs: number;
  readonly handlers: GroupHandlers;
}

/** A member of a consumer group. */
export interface GroupConsumer {
  /** Joins the group; resolves after the first assignment. */
  start(): Promise<void>;
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  /** Commits offsets (and metadata) under the member's current generation. */
  commit(offsets: readonly OffsetCommit[]): Promise<void>;
  /** Leaves the group; uncommitted records go to the next owner. */
  close(): Promise<void>;
}

/** A Kafka client, as the adapter needs it. */
export interface KafkaTransport {
  /** Opens the producer and loads its metadata for `topics` ahead of their first use. */
  connect(topics: readonly string[]): Promise<void>;
  /** Resolves once every record is acknowledged by all in-sync replicas. */
  produce(records: readonly ProduceRecord[]): Promise<void>;
  /** Creates the topics that do not exist yet; safe to call concurrently and repeatedly. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<void>;
  watermarks(topic: string): Promise<PartitionWatermarks[]>;
  committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]>;
  describeGroup(groupId: string): Promise<GroupDescription>;
  /** Deletes records before the given offsets (Kafka DeleteRecords). */
  deleteRecords(topic: string, before: readonly { partition: number; offset: number }[]): Promise<void>;
  /**
   * Reads a topic from the low watermark up to the high watermark as of the call, at most
   * `limitPerPartition` records per partition, without joining any application group.
   */
  readAll(topic: string, limitPerPartition: number): Promise<TransportRecord[]>;
  createGroupConsumer(options: GroupConsumerOptions): GroupConsumer;
  close(): Promise<void>;
}

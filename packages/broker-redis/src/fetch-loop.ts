import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from './connection.js';
import { heldKey, type Keyspace, wakeKey } from './keys.js';
import type { RedisBrokerSettings } from './options.js';
import type { PriorityStep } from './priority.js';
import { runScript } from './scripts.js';

/** One message taken by the fetch script. */
export interface FetchedMessage {
  readonly tag: string;
  readonly step: PriorityStep;
  readonly deliveryCount: number;
  readonly queue: string;
  readonly raw: string;
}

/** What a fetch loop needs from the broker's connection. */
export interface ConsumerHost {
  readonly client: RedisClient;
  readonly cluster: boolean;
  readonly settings: RedisBrokerSettings;
  /** The single server and database it settles on, as a `CarriedStore` names it; else `undefined`. */
  readonly carryTarget: string | undefined;
  /** A dedicated connection for blocking waits. */
  openBlockingClient(name: string): RedisClient;
  /** Grows whenever the command connection dropped (replies may have been lost). */
  epoch(): number;
}

/** What a fetch loop needs from its consumer. */
export interface LoopOwner {
  readonly id: string;
  readonly host: ConsumerHost;
  /** Deliveries allowed before the fetch script dead-letters a message (`DELIVERY_LIMIT`). */
  readonly deliveryLimit: number;
  /** Running and not paused. */
  readonly fetching: boolean;
  /** Claims up to `max` free slots, counting `freeing` held deliveries as free; returns how many. */
  reserve(max: number, freeing?: number): number;
  unreserve(count: number): void;
  /** `count` consecutive fetch sequence numbers (the held order). */
  nextSequence(count: number): number;
  /** Resolves at the next change of slots, prefetch, pause or state. */
  changed(): Promise<void>;
  accept(loop: FetchLoop, messages: readonly FetchedMessage[]): void;
  /** Tags this consumer knows it holds in the loop's keyspace. */
  knownTags(loop: FetchLoop): string[];
  report(error: unknown, what: string): void;
}

/**
 * Fetches for one keyspace: the whole consumer on a single server, one queue on Cluster.
 *
 * A round trip runs the atomic fetch script for as many messages as there are free slots. When the
 * lists are empty it blocks in BLPOP on the queues' wake-up keys (our producers push a token), for
 * at most `pollFallbackMs` (Python producers push no token) or until the next delayed message is
 * due. No busy polling, and no message ever sits in a place recovery does not know.
 */
export class FetchLoop {
  /** Set when a reply may have been lost: held messages nobody knows of go back to the queue. */
  needsReconcile = false;
  readonly heldKey: string;
  private blocking: RedisClient | undefined;
  /** The blocking connection's `CLIENT ID` (single server), re-read after every reconnect. */
  private blockingId: number | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly owner: LoopOwner,
    readonly keyspace: Keyspace,
    readonly queues: readonly string[],
  ) {
    this.heldKey = heldKey(keyspace, owner.id);
  }

  start(): void {
    this.running = this.run();
  }

  /** Stops after the current round trip; interrupts a blocking wait at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.blocking?.disconnect();
    await this.running;
  }

  /** Drops the blocking connection without waiting (crash simulation). */
  kill(): void {
    this.stopped = true;
    this.blocking?.disconnect();
  }

  private async run(): Promise<void> {
    const { owner } = this;
    let failures = 0;
    while (!this.stopped) {
      const slots = owner.fetching ? owner.reserve(owner.host.settings.fetchBatchSize) : 0;
      if (slots === 0) {
        await owner.changed();
        continue;
      }
      let fetched: { messages: FetchedMessage[]; nextDueMs: number };
      try {
        if (this.needsReconcile) await this.reconcile();
        const epoch = owner.host.epoch();
        fetched = await this.fetch(slots);
        if (owner.host.epoch() !== epoch) this.needsReconcile = true;
        failures = 0;
      } catch (error) {
        owner.unreserve(slots);
        if (this.stopped) break;
        this.needsReconcile = true;
        owner.report(error, 'fetch');
        failures += 1;
        await sleep(Math.min(2000, 50 * 2 ** failures));
        continue;
      }
      owner.accept(this, fetched.messages);
      owner.unreserve(slots);
      if (fetched.messages.length < slots && fetched.nextDueMs !== 0 && !this.stopped) {
        await this.waitForWork(fetched.nextDueMs);
      }
    }
  }

  private async fetch(slots: number): Promise<{ messages: FetchedMessage[]; nextDueMs: number }> {
    const { client } = this.owner.host;
    const reply = (await runScript(
      client,
      'celeriacFetch',
      this.keyspace,
      [this.heldKey],
      this.fetchArgs(slots),
    )) as unknown[];
    return this.parse(reply);
  }

  /** The fetch script's arguments after the common frame (also sent by acks that fetch). */
  fetchArgs(slots: number): (string | number)[] {
    const { owner } = this;
    const { settings } = owner.host;
    return [
      owner.id,
      slots,
      owner.nextSequence(slots),
      owner.deliveryLimit,
      new Date().toISOString(),
      randomUUID(),
      settings.consumerTimeoutMs,
      ...this.queues,
    ];
  }

  private parse(reply: readonly unknown[]): { messages: FetchedMessage[]; nextDueMs: number } {
    const messages: FetchedMessage[] = [];
    for (let i = 2; i + 4 < reply.length; i += 5) {
      messages.push({
        tag: String(reply[i]),
        step: Number(reply[i + 1]) as PriorityStep,
        deliveryCount: Number(reply[i + 2]),
        queue: this.queues[Number(reply[i + 3]) - 1] ?? '',
        raw: String(reply[i + 4]),
      });
    }
    return { messages, nextDueMs: Number(reply[0]) };
  }

  /**
   * Slots for a fetch that rides on a batch of acks: the `acking` deliveries count as free, since
   * the same script call settles them first. 0 when this loop is not fetching.
   */
  reserveWithAck(acking: number): number {
    const { owner } = this;
    if (this.stopped || !owner.fetching) return 0;
    return owner.reserve(owner.host.settings.fetchBatchSize, acking);
  }

  /** Hands over what an ack's fetch brought (`reply` as the fetch script's) and frees its slots. */
  acceptFetched(reply: readonly unknown[] | undefined, slots: number): void {
    // No reply: what it may have fetched is held under our id unknown to us; reconcile returns it.
    if (reply) this.owner.accept(this, this.parse(reply).messages);
    else this.needsReconcile = true;
    this.owner.unreserve(slots);
  }

  private async reconcile(): Promise<void> {
    const { owner } = this;
    await runScript(
      owner.host.client,
      'celeriacRelease',
      this.keyspace,
      [this.heldKey],
      [owner.id, 'reconcile', ...owner.knownTags(this)],
    );
    this.needsReconcile = false;
  }

  private blockingClient(): RedisClient {
    if (this.blocking) return this.blocking;
    const client = this.owner.host.openBlockingClient(`consumer:${this.owner.id}`);
    // A reconnect is a new connection with a new id.
    client.on('ready', () => {
      this.blockingId = undefined;
    });
    this.blocking = client;
    return client;
  }

  /** A timer that ends the blocking wait as timed out (`CLIENT UNBLOCK … TIMEOUT`) after `ms`. */
  private async unblockAt(blocking: RedisClient, ms: number): Promise<NodeJS.Timeout> {
    this.blockingId ??= Number(await blocking.call('CLIENT', 'ID'));
    const id = this.blockingId;
    const { client } = this.owner.host;
    return setTimeout(() => {
      // Not blocked any more (woken meanwhile): UNBLOCK answers 0 and does nothing.
      client.call('CLIENT', 'UNBLOCK', id, 'TIMEOUT').catch(() => {});
    }, ms);
  }

  private async waitForWork(nextDueMs: number): Promise<void> {
    const { owner } = this;
    const fallback = owner.host.settings.pollFallbackMs;
    const ms = nextDueMs > 0 ? Math.min(fallback, nextDueMs + 2) : fallback;
    const blocking = this.blockingClient();
    const keys = this.queues.map((q) => wakeKey(this.keyspace.cluster, q));
    let due: NodeJS.Timeout | undefined;
    try {
      // Redis checks blocking timeouts on its cron (every 100 ms at the default hz), so a delayed
      // message due soon would come up to that late: a timer of ours unblocks the wait on time.
      if (nextDueMs > 0 && ms < fallback && !this.keyspace.cluster) due = await this.unblockAt(blocking, ms);
      const woke = (await blocking.call('BLPOP', ...keys, (Math.max(ms, 10) / 1000).toFixed(3))) as
        | [string, string]
        | null;
      clearTimeout(due);
      // A token this consumer cannot use (paused, closing) goes back for another consumer.
      if (woke && !owner.fetching) await owner.host.client.lpush(woke[0], woke[1]);
    } catch (error) {
      clearTimeout(due);
      if (this.stopped) return;
      owner.report(error, 'waiting for messages');
      await sleep(250);
    }
  }
}

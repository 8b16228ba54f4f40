import { Redis } from 'ioredis';
import type { RedisClient } from './connection.js';
import { wakeKey } from './keys.js';
import { execPipeline, PUSH_CHUNK, queuePush, tokens, WAKE_TOKENS, WAKE_TTL_MS } from './publish.js';

/** Longest a wake-up list this producer pushed to waits for its trim and TTL. */
const UPKEEP_DELAY_MS = 1000;

/** The pushes to one list gathered during one tick, sent together. */
interface Gathered {
  readonly queue: string;
  readonly list: string;
  readonly raws: string[];
  readonly done: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function openBatch(queue: string, list: string): Gathered {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { queue, list, raws: [], done, resolve, reject };
}

/**
 * Publishes to one list of a queue: the shape of every `enqueue`, where each command counts.
 *
 * Pushes made in the same tick (an application enqueuing in a loop, or many requests served at
 * once) are gathered per list and sent when the tick's microtasks have run: one LPUSH of all their
 * envelopes, in call order, and one LPUSH of their wake-up tokens (at most {@link WAKE_TOKENS}),
 * in one socket write. On loopback a write costs more CPU than the rest of a small publish, and
 * each command costs Redis a call, so this is what lets a producer keep up with thousands of
 * `enqueue` calls per second. Every caller in the batch is settled by the same reply. A lone
 * `enqueue` pays only a nextTick.
 *
 * On a ready single-server connection these are plain commands, not an ioredis Pipeline (which
 * costs more than the rest of a one-message publish) nor a script (which costs the server more
 * than the commands it runs). Only the upkeep of the wake-up list (LTRIM to {@link WAKE_TOKENS},
 * PEXPIRE) is batched further: it rides along once {@link WAKE_TOKENS} tokens were pushed since the
 * last one, and otherwise goes out within {@link UPKEEP_DELAY_MS} (and on close). A list thus holds
 * at most the cap plus fewer than the cap per producer, and one that nobody consumes still expires.
 * Elsewhere (Cluster, reconnecting) the four commands go as one pipeline.
 */
export class ListPusher {
  /** Tokens pushed per wake-up key since that list was last trimmed and given its TTL. */
  private readonly untrimmed = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** Pushes of the current tick, per list, in call order. */
  private gathered = new Map<string, Gathered>();

  constructor(
    private readonly client: RedisClient,
    private readonly cluster: boolean,
  ) {}

  /** Pushes envelopes already encoded for `list` of `queue`, with their wake-up tokens. */
  push(queue: string, list: string, raws: readonly string[]): Promise<void> {
    let batch = this.gathered.get(list);
    if (!batch) {
      if (this.gathered.size === 0) process.nextTick(() => this.send());
      batch = openBatch(queue, list);
      this.gathered.set(list, batch);
    }
    for (const raw of raws) batch.raws.push(raw);
    const done = batch.done;
    // A batch this big gains nothing from waiting; sending everything keeps the publish order.
    if (batch.raws.length >= PUSH_CHUNK) this.send();
    return done;
  }

  /**
   * Sends what this tick gathered now. Other ways of publishing call it first, so that messages
   * reach a list in the order they were published.
   */
  send(): void {
    if (this.gathered.size === 0) return;
    const batches = this.gathered;
    this.gathered = new Map();
    const { client } = this;
    if (!(client instanceof Redis) || client.status !== 'ready') {
      for (const b of batches.values()) {
        const pipeline = client.pipeline();
        queuePush(pipeline, this.cluster, b.queue, [{ key: b.list, raws: b.raws }], b.raws.length);
        execPipeline(pipeline).then(b.resolve, b.reject);
      }
      return;
    }
    const socket = client.stream;
    // One socket write for every command below, however many lists this tick touched.
    socket.cork();
    try {
      for (const b of batches.values()) this.sendBatch(client, b);
    } finally {
      socket.uncork();
    }
  }

  private sendBatch(client: Redis, b: Gathered): void {
    const wake = wakeKey(this.cluster, b.queue);
    const count = b.raws.length;
    const upkeep = this.upkeepDue(wake, Math.min(WAKE_TOKENS, count));
    const pushed = count === 1 ? client.lpush(b.list, b.raws[0] as string) : client.lpush(b.list, ...b.raws);
    const woke = count === 1 ? client.lpush(wake, '1') : client.lpush(wake, ...tokens(count));
    const sent: Promise<unknown>[] = [pushed, woke];
    if (upkeep) sent.push(client.ltrim(wake, 0, WAKE_TOKENS - 1), client.pexpire(wake, WAKE_TTL_MS));
    Promise.all(sent).then(() => b.resolve(), b.reject);
  }

  /** Counts `count` more tokens on `wake`; true when this push should trim the list and set its TTL. */
  private upkeepDue(wake: string, count: number): boolean {
    const pending = (this.untrimmed.get(wake) ?? 0) + count;
    if (pending >= WAKE_TOKENS) {
      this.untrimmed.delete(wake);
      return true;
    }
    this.untrimmed.set(wake, pending);
    this.timer ??= setTimeout(() => void this.flush(), UPKEEP_DELAY_MS).unref();
    return false;
  }

  /** Trims every wake-up list pushed to since its last upkeep and sets its TTL (best effort). */
  flush(): Promise<void> {
    this.send();
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.untrimmed.size === 0) return Promise.resolve();
    const pipeline = this.client.pipeline();
    for (const wake of this.untrimmed.keys()) {
      pipeline.ltrim(wake, 0, WAKE_TOKENS - 1);
      pipeline.pexpire(wake, WAKE_TTL_MS);
    }
    this.untrimmed.clear();
    // A lost upkeep leaves fewer than the cap of tokens without a TTL, until the next upkeep or a
    // consumer's fetch that finds the queue empty: nothing a caller could act on.
    return pipeline.exec().then(
      () => undefined,
      () => undefined,
    );
  }

  /** Forgets pending upkeep without sending it, and fails what was not sent (the broker was destroyed). */
  discard(error: unknown): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.untrimmed.clear();
    const batches = this.gathered;
    this.gathered = new Map();
    for (const b of batches.values()) b.reject(error);
  }
}

import { randomUUID } from 'node:crypto';
import { BrokerError, type OutgoingMessage } from '@celeriac/core';
import { type ChainableCommander, Redis } from 'ioredis';
import type { RedisClient } from './connection.js';
import { encodeEnvelope } from './envelope.js';
import { delayedKey, type Keyspace, keyspaceFor, listKey, wakeKey } from './keys.js';
import { pipeScript } from './scripts.js';

const PUSH_CHUNK = 1000;
const WAKE_TOKENS = 16;
const WAKE_TTL_MS = 60_000;
/** Longest a wake-up list this producer pushed to waits for its trim and TTL. */
const UPKEEP_DELAY_MS = 1000;
const TOKENS = Array.from({ length: WAKE_TOKENS }, () => '1');

/** `count` wake-up tokens, at most as many as the wake-up list keeps. */
function tokens(count: number): string[] {
  return TOKENS.slice(0, Math.min(WAKE_TOKENS, count));
}

/**
 * The commands that publish to one list of `queue`: LPUSH of the envelopes (kombu's producer
 * side), then one wake-up token per message for blocked consumers, at most {@link WAKE_TOKENS}
 * kept, for {@link WAKE_TTL_MS}.
 */
function queuePush(
  target: Pick<ChainableCommander, 'lpush' | 'ltrim' | 'pexpire'>,
  cluster: boolean,
  queue: string,
  runs: readonly { readonly key: string; readonly raws: readonly string[] }[],
  count: number,
): void {
  for (const run of runs) target.lpush(run.key, ...run.raws);
  const wake = wakeKey(cluster, queue);
  target.lpush(wake, ...tokens(count));
  target.ltrim(wake, 0, WAKE_TOKENS - 1);
  target.pexpire(wake, WAKE_TTL_MS);
}

/**
 * Publishes to one list of a queue: the shape of every `enqueue`, where each command counts.
 *
 * On a ready single-server connection the envelopes and their wake-up token go out as two plain
 * commands, and every publish of the same tick shares one socket write (the socket stays corked
 * until the microtasks of this turn have run): no ioredis Pipeline object,
 * which costs more than the rest of a one-message publish, and no script, which costs the server
 * more than the commands it runs. The token still follows its message on the same connection, so a
 * consumer blocked on the wake-up key wakes for every publish, as before. Only the upkeep of the
 * wake-up list (LTRIM to {@link WAKE_TOKENS}, PEXPIRE) is batched: it rides along once
 * {@link WAKE_TOKENS} tokens were pushed since the last one, and otherwise goes out within
 * {@link UPKEEP_DELAY_MS} (and on close). A list thus holds at most the cap plus fewer than the cap
 * per producer, and one that nobody consumes still expires. Elsewhere (Cluster, reconnecting) the
 * four commands go as one pipeline, as before.
 */
export class ListPusher {
  /** Tokens pushed per wake-up key since that list was last trimmed and given its TTL. */
  private readonly untrimmed = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** The socket corked for the publishes of the current tick, if any. */
  private corked: Redis['stream'] | undefined;

  constructor(
    private readonly client: RedisClient,
    private readonly cluster: boolean,
  ) {}

  /** Pushes envelopes already encoded for `list` of `queue`, with their wake-up tokens. */
  push(queue: string, list: string, raws: readonly string[]): Promise<unknown> {
    const { client } = this;
    if (!(client instanceof Redis) || client.status !== 'ready') {
      const pipeline = client.pipeline();
      queuePush(pipeline, this.cluster, queue, [{ key: list, raws }], raws.length);
      return execPipeline(pipeline);
    }
    const wake = wakeKey(this.cluster, queue);
    const upkeep = this.upkeepDue(wake, Math.min(WAKE_TOKENS, raws.length));
    this.corkForTick(client.stream);
    const pushed = raws.length === 1 ? client.lpush(list, raws[0] as string) : client.lpush(list, ...raws);
    const woke = raws.length === 1 ? client.lpush(wake, '1') : client.lpush(wake, ...tokens(raws.length));
    if (!upkeep) return Promise.all([pushed, woke]);
    return Promise.all([
      pushed,
      woke,
      client.ltrim(wake, 0, WAKE_TOKENS - 1),
      client.pexpire(wake, WAKE_TTL_MS),
    ]);
  }

  /**
   * Holds the socket's writes until the current tick's microtasks have run, so that many
   * `enqueue` calls made together cost one write system call (on loopback, the write is where most
   * of a small publish's CPU goes), not two commands' worth each. A nextTick queued from a
   * microtask runs once the microtask queue is empty, so no write waits for a timer or I/O.
   */
  private corkForTick(socket: Redis['stream']): void {
    if (this.corked === socket) return;
    this.corked = socket;
    socket.cork();
    process.nextTick(() => {
      this.corked = undefined;
      socket.uncork();
    });
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

  /** Forgets pending upkeep without sending it (the broker was destroyed). */
  discard(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.untrimmed.clear();
  }
}

/** Runs a pipeline; throws the first command error. */
export async function execPipeline(pipeline: ChainableCommander): Promise<void> {
  const results = (await pipeline.exec()) ?? [];
  const failed = results.find(([error]) => error);
  if (failed?.[0]) throw failed[0];
}

/** Messages of one queue, prepared for one pipeline. */
interface QueueBatch {
  /** Consecutive messages for the same list, pushed with one command. */
  readonly runs: { key: string; raws: string[] }[];
  /** `delay, step, id, raw` groups for the delay script. */
  readonly delayed: (string | number)[];
  immediate: number;
}

/** For an eta-only queue: no broker delay, but an `eta` header (kept when the producer set one). */
function withEtaHeader(item: OutgoingMessage): OutgoingMessage {
  if (item.message.headers.eta) return { ...item, delayMs: 0 };
  const eta = new Date(Date.now() + (item.delayMs ?? 0)).toISOString().replace('Z', '+00:00');
  return { ...item, delayMs: 0, message: { ...item.message, headers: { ...item.message.headers, eta } } };
}

/** Throws when an envelope is over the broker's limit. */
export function checkSize(raw: string, maxBytes: number): void {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: most envelopes need no byte count at all.
  if (raw.length * 3 <= maxBytes) return;
  const bytes = Buffer.byteLength(raw);
  if (bytes > maxBytes) {
    throw new BrokerError('redis', `message of ${bytes} bytes exceeds the ${maxBytes}-byte limit`, false);
  }
}

/** Groups messages by queue, keeping their order within each priority list. */
export function batchByQueue(
  cluster: boolean,
  messages: readonly OutgoingMessage[],
  limits: { readonly maxBytes: number; readonly etaOnlyQueues: ReadonlySet<string> },
): Map<string, QueueBatch> {
  const batches = new Map<string, QueueBatch>();
  const { maxBytes } = limits;
  for (const original of messages) {
    const etaOnly = limits.etaOnlyQueues.has(original.queue) && (original.delayMs ?? 0) > 0;
    const item = etaOnly ? withEtaHeader(original) : original;
    const { raw, step } = encodeEnvelope(item.queue, item.message);
    checkSize(raw, maxBytes);
    let batch = batches.get(item.queue);
    if (!batch) {
      batch = { runs: [], delayed: [], immediate: 0 };
      batches.set(item.queue, batch);
    }
    const delay = etaOnly ? 0 : Math.round(item.delayMs ?? 0);
    if (delay > 0) {
      batch.delayed.push(delay, step, randomUUID(), raw);
      continue;
    }
    const key = listKey(cluster, item.queue, step);
    const last = batch.runs[batch.runs.length - 1];
    if (last && last.key === key && last.raws.length < PUSH_CHUNK) last.raws.push(raw);
    else batch.runs.push({ key, raws: [raw] });
    batch.immediate += 1;
  }
  return batches;
}

/** The one push command a batch amounts to, when it is that simple (one queue, one list, no delay). */
export function singlePush(
  batches: Map<string, QueueBatch>,
): { queue: string; key: string; raws: string[] } | undefined {
  if (batches.size !== 1) return undefined;
  const [queue, batch] = batches.entries().next().value as [string, QueueBatch];
  const run = batch.runs[0];
  if (batch.runs.length !== 1 || batch.delayed.length > 0 || !run) return undefined;
  return { queue, key: run.key, raws: run.raws };
}

/**
 * Queues the commands that publish one queue's batch: LPUSH (kombu's producer side), then wake-up
 * tokens for blocked consumers; delayed messages go to the delayed zset through a script that
 * reads the server clock.
 */
export function pipePublish(
  pipeline: ChainableCommander,
  cluster: boolean,
  queue: string,
  batch: QueueBatch,
): void {
  if (batch.immediate > 0) queuePush(pipeline, cluster, queue, batch.runs, batch.immediate);
  if (batch.delayed.length > 0) {
    const keyspace: Keyspace = keyspaceFor(cluster, queue);
    pipeScript(pipeline, 'celeriacDelay', keyspace, [delayedKey(cluster, queue)], [queue, ...batch.delayed]);
  }
}

import type { Broker, DeadLetter } from '@celeriac/core';
import { ClosedError, ConfigError } from '@celeriac/core';
import type { ConsumeOptions, Consumer, OutgoingMessage } from '@celeriac/core/adapter';
import { redisBrokerCapabilities } from './capabilities.js';
import { type ClientSettings, connectClient, createClient, type RedisClient } from './connection.js';
import { RedisConsumer } from './consumer.js';
import { parseDeadLetter } from './dead-letters.js';
import { encodeEnvelope } from './envelope.js';
import { toCeleriacError } from './errors.js';
import type { ConsumerHost } from './fetch-loop.js';
import { assertQueueName, deadLetterKey, deadLettersDroppedKey, keyspaceFor, listKey } from './keys.js';
import { ListPusher } from './list-pusher.js';
import { type RedisBrokerOptions, type RedisBrokerSettings, resolveOptions } from './options.js';
import { batchByQueue, checkSize, execPipeline, pipePublish, singlePush } from './publish.js';
import { defineScripts, runScript } from './scripts.js';
import { carryTargetOf, parseRedisUrl } from './url.js';

/**
 * A Celeriac broker on Redis, wire-compatible with kombu's Redis transport: Python Celery
 * producers and workers can share its queues.
 *
 * @example
 * ```ts
 * const broker = new RedisBroker({ url: 'redis://127.0.0.1:6379' });
 * await broker.publish({ queue: 'celery', message: createTaskMessage({ task: 'tasks.add', args: [2, 2] }) });
 * ```
 */
export class RedisBroker implements Broker {
  readonly name = 'redis';
  readonly capabilities = redisBrokerCapabilities;
  /** Resolved timings and limits. */
  readonly settings: RedisBrokerSettings;
  private readonly clientSettings: ClientSettings;
  private readonly display: string;
  private readonly client: RedisClient;
  private readonly cluster: boolean;
  private readonly carryTarget: string | undefined;
  private readonly consumers = new Set<RedisConsumer>();
  private readonly extraClients = new Set<RedisClient>();
  private readonly pusher: ListPusher;
  private ready: Promise<void> | undefined;
  /** Set once the first connect succeeded: later calls skip awaiting `ready`. */
  private connected = false;
  private closed = false;
  private drops = 0;

  constructor(options: RedisBrokerOptions = {}) {
    this.settings = resolveOptions(options);
    const parsed = parseRedisUrl(options.url ?? 'redis://127.0.0.1:6379');
    this.display = parsed.display;
    this.cluster = parsed.target.kind === 'cluster';
    this.clientSettings = { target: parsed.target, redis: options.redis, cluster: options.cluster };
    this.carryTarget = carryTargetOf(parsed.target, options.redis);
    this.client = createClient(this.clientSettings, 'broker');
    defineScripts(this.client);
    this.pusher = new ListPusher(this.client, this.cluster);
    // Errors surface through the commands that fail; the event only needs a listener.
    this.client.on('error', () => {});
    this.client.on('close', () => {
      this.drops += 1;
    });
  }

  private connect(): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('redis broker'));
    this.ready ??= connectClient(this.client, this.display).then(
      () => {
        this.connected = true;
      },
      (error: unknown) => {
        this.ready = undefined;
        throw error;
      },
    );
    return this.ready;
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    await this.connect();
    try {
      return await run();
    } catch (error) {
      throw toCeleriacError(error, what, this.display);
    }
  }

  publish(message: OutgoingMessage): Promise<void> {
    // Delayed (and eta-only) messages take the general path; an immediate one goes straight out,
    // without an async frame of its own: this runs once per `enqueue`.
    if ((message.delayMs ?? 0) > 0) return this.publishMany([message]);
    try {
      const { queue } = message;
      assertQueueName(this.cluster, queue);
      const { raw, step } = encodeEnvelope(queue, message.message);
      checkSize(raw, this.capabilities.maxMessageBytes);
      return this.push(queue, listKey(this.cluster, queue, step), [raw]);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async publishMany(messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const batches = batchByQueue(this.cluster, messages, {
      maxBytes: this.capabilities.maxMessageBytes,
      etaOnlyQueues: this.settings.etaOnlyQueues,
    });
    const single = singlePush(batches);
    if (single) return this.push(single.queue, single.key, single.raws);
    // Single publishes gathered this tick go first: a list gets messages in publish order.
    this.pusher.send();
    await this.call('publish', async () => {
      // One pipeline on a single server; one per queue (one slot each) on Cluster.
      const groups = this.cluster ? [...batches].map((b) => [b]) : [[...batches]];
      await Promise.all(
        groups.map(async (group) => {
          const pipeline = this.client.pipeline();
          for (const [queue, batch] of group) pipePublish(pipeline, this.cluster, queue, batch);
          await execPipeline(pipeline);
        }),
      );
    });
  }

  /** Publishes to one list of one queue (the shape of every `enqueue`) in one write. */
  private push(queue: string, list: string, raws: readonly string[]): Promise<void> {
    // Once connected, no extra await.
    if (!this.connected || this.closed) return this.connect().then(() => this.pushNow(queue, list, raws));
    return this.pushNow(queue, list, raws);
  }

  private pushNow(queue: string, list: string, raws: readonly string[]): Promise<void> {
    return this.pusher.push(queue, list, raws).catch((error: unknown) => {
      throw toCeleriacError(error, 'publish', this.display);
    });
  }

  async consume(options: ConsumeOptions): Promise<Consumer> {
    if (options.queues.length === 0) throw new ConfigError('redis broker: consume needs at least one queue');
    for (const q of options.queues) assertQueueName(this.cluster, q);
    await this.connect();
    const consumer = new RedisConsumer(this.host(), options, (c) => this.consumers.delete(c));
    this.consumers.add(consumer);
    try {
      await consumer.start();
    } catch (error) {
      consumer.crash();
      throw toCeleriacError(error, 'starting consumer', this.display);
    }
    return consumer;
  }

  private host(): ConsumerHost {
    return {
      client: this.client,
      cluster: this.cluster,
      settings: this.settings,
      carryTarget: this.carryTarget,
      epoch: () => this.drops,
      openBlockingClient: (name) => {
        const client = createClient(this.clientSettings, name, true);
        client.on('error', () => {});
        this.extraClients.add(client);
        client.on('end', () => this.extraClients.delete(client));
        return client;
      },
    };
  }

  private queueScript(
    name: 'celeriacDepth' | 'celeriacPurge' | 'celeriacRedrive',
    queue: string,
  ): Promise<number> {
    try {
      assertQueueName(this.cluster, queue);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.call(name, async () =>
      Number(
        await runScript(
          this.client,
          name,
          keyspaceFor(this.cluster, queue, this.settings.deadLetters),
          [listKey(this.cluster, queue, 0)],
          [queue],
        ),
      ),
    );
  }

  /** Waiting messages over the four priority lists (due delayed messages are promoted first). */
  depth(queue: string): Promise<number> {
    return this.queueScript('celeriacDepth', queue);
  }

  /** Deletes the queue's priority lists and delayed messages; returns how many were removed. */
  purge(queue: string): Promise<number> {
    return this.queueScript('celeriacPurge', queue);
  }

  async readDeadLetters(queue: string, limit = 100): Promise<DeadLetter[]> {
    const entries = await this.call('reading dead letters', () =>
      this.client.lrange(deadLetterKey(this.cluster, queue), 0, Math.max(0, limit - 1)),
    );
    return entries.map((entry) => parseDeadLetter(queue, entry));
  }

  redriveDeadLetters(queue: string): Promise<number> {
    return this.queueScript('celeriacRedrive', queue);
  }

  /**
   * How many dead letters of `queue` were dropped, oldest first, to keep its list within
   * `deadLetterMaxEntries`. Zero until the cap is first reached.
   */
  async deadLettersDropped(queue: string): Promise<number> {
    const n = await this.call('reading dropped dead letters', () =>
      this.client.get(deadLettersDroppedKey(this.cluster, queue)),
    );
    return Number(n ?? 0);
  }

  /** Closes every consumer (returning unsettled deliveries to their queues), then the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.consumers].map((c) => c.close()));
    this.closed = true;
    // Nothing publishes any more: the last wake-up lists get their trim and TTL now.
    if (this.connected) await this.pusher.flush();
    for (const c of this.extraClients) c.disconnect();
    this.extraClients.clear();
    if (this.ready) await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }

  /**
   * Drops every connection at once, as a crashed process would: nothing is returned to the queues.
   * What its consumers held is delivered again by other consumers once their heartbeat lapses.
   */
  async destroy(): Promise<void> {
    this.closed = true;
    this.pusher.discard(new ClosedError('redis broker'));
    for (const c of [...this.consumers]) c.crash();
    for (const c of this.extraClients) c.disconnect();
    this.extraClients.clear();
    this.client.disconnect();
  }
}

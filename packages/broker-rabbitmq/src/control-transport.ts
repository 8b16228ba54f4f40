import { randomUUID } from 'node:crypto';
import { ClosedError, ConfigError } from '@celeriac/core';
import {
  type CollectOptions,
  type ControlBrokerInfo,
  type ControlMessage,
  type ControlReply,
  type ControlReplyHeaders,
  type ControlReplyTo,
  type ControlRequest,
  type ControlRequestHeaders,
  type ControlTransport,
  DEFAULT_CONTROL_NAMESPACE,
  type MailboxNames,
  mailboxNames,
  parseControlRequest,
  type ReplyCollection,
  ReplyCollectors,
  type StopListening,
} from '@celeriac/core/adapter';
import type { Channel, ConsumeMessage } from 'amqplib';
import { ConnectionManager } from './connection.js';
import { optionsFromUrl } from './create-broker.js';
import { replyCode, toCeleriacError } from './errors.js';
import { resolveOptions } from './options.js';
import type { Session } from './session.js';

/** Options for {@link RabbitMQControlTransport}. */
export interface RabbitMQControlOptions {
  /** Celery's `control_exchange`. @default 'celery' */
  readonly namespace?: string;
}

/** Celery's control queues: exclusive, deleted with their connection, unused ones after 10 s. */
const QUEUE_OPTIONS = {
  durable: false,
  exclusive: true,
  autoDelete: true,
  // control_queue_expires (10 s) and control_queue_ttl (300 s), as Celery declares them.
  arguments: { 'x-expires': 10_000, 'x-message-ttl': 300_000 },
} as const;
/** kombu's mailbox exchanges: not durable, never auto-deleted. */
const EXCHANGE_OPTIONS = { durable: false, autoDelete: false } as const;

function decode(msg: ConsumeMessage): unknown {
  try {
    return JSON.parse(msg.content.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function brokerInfo(url: string): ControlBrokerInfo {
  const u = new URL(url);
  const vhost = decodeURIComponent(u.pathname.slice(1));
  return {
    transport: 'amqp',
    hostname: u.hostname,
    port: u.port ? Number(u.port) : u.protocol === 'amqps:' ? 5671 : 5672,
    virtual_host: vhost || '/',
    userid: u.username ? decodeURIComponent(u.username) : 'guest',
    ssl: u.protocol === 'amqps:',
  };
}

/**
 * Celery's remote control over AMQP, as kombu does it: commands go to the fanout exchange
 * `celery.pidbox`, which each node's exclusive queue `<hostname>.celery.pidbox` is bound to;
 * replies go to the direct exchange `reply.celery.pidbox` with the caller's oid as routing key,
 * into its exclusive queue `<oid>.reply.celery.pidbox`. Python workers and callers (`celery
 * inspect`, Flower) on the same RabbitMQ take part unchanged. Reconnects redeclare everything.
 */
export class RabbitMQControlTransport implements ControlTransport {
  readonly broker: ControlBrokerInfo;
  private readonly names: MailboxNames;
  private readonly connection: ConnectionManager;
  private readonly oid = randomUUID();
  private readonly listeners = new Map<string, Set<(message: ControlMessage) => void>>();
  private readonly collectors = new ReplyCollectors();
  private channel: { session: Session; channel: Promise<Channel> } | undefined;
  private replyConsumer: Promise<void> | undefined;
  private closed = false;

  constructor(url: string, options: RabbitMQControlOptions = {}) {
    const resolved = resolveOptions({ ...optionsFromUrl(url), confirm: false });
    this.connection = new ConnectionManager(resolved);
    this.broker = brokerInfo(resolved.url);
    this.names = mailboxNames(options.namespace ?? DEFAULT_CONTROL_NAMESPACE);
    // After a reconnect the exclusive queues are gone: declare and consume them again.
    this.connection.onUp(() => {
      this.replyConsumer = undefined;
      if (this.collectors.size > 0) void this.ensureReplyConsumer().catch(() => {});
      for (const hostname of this.listeners.keys()) void this.consumeNode(hostname).catch(() => {});
    });
  }

  /** The control channel of the live connection (a new one after a reconnect or a channel error). */
  private async ch(): Promise<Channel> {
    if (this.closed) throw new ClosedError('rabbitmq control transport');
    const session = await this.connection.whenConnected();
    if (this.channel?.session !== session) {
      const channel = session.model.createChannel().then((c) => {
        c.on('error', () => {});
        c.on('close', () => {
          if (this.channel?.session === session) this.channel = undefined;
        });
        return c;
      });
      this.channel = { session, channel };
      channel.catch(() => {
        if (this.channel?.channel === channel) this.channel = undefined;
      });
    }
    return this.channel.channel;
  }

  private async consumeNode(hostname: string): Promise<void> {
    const ch = await this.ch();
    const queue = this.names.nodeQueue(hostname);
    await ch.assertExchange(this.names.exchange, 'fanout', EXCHANGE_OPTIONS);
    try {
      await ch.assertQueue(queue, QUEUE_OPTIONS);
    } catch (error) {
      if (replyCode(error) === 405)
        throw new ConfigError(
          `rabbitmq: a node named ${hostname} already uses the mailbox ${queue}; give each worker a unique hostname`,
          { cause: error },
        );
      throw error;
    }
    await ch.bindQueue(queue, this.names.exchange, '');
    await ch.consume(
      queue,
      (msg) => {
        if (!msg) return;
        const request = parseControlRequest(decode(msg));
        if (!request) return;
        const h = (msg.properties.headers ?? {}) as Record<string, unknown>;
        const message = {
          request,
          headers: { clock: Number(h.clock) || 0, expires: Number(h.expires) || 0 },
        };
        for (const listener of this.listeners.get(hostname) ?? []) listener(message);
      },
      { noAck: true, consumerTag: `celeriac-control-${hostname}-${randomUUID()}` },
    );
  }

  async listen(hostname: string, onMessage: (message: ControlMessage) => void): Promise<StopListening> {
    let set = this.listeners.get(hostname);
    if (!set) {
      set = new Set();
      this.listeners.set(hostname, set);
      try {
        await this.consumeNode(hostname);
      } catch (error) {
        this.listeners.delete(hostname);
        throw toCeleriacError(error, `listening for control commands as ${hostname}`);
      }
    }
    set.add(onMessage);
    return async () => {
      set.delete(onMessage);
      if (set.size > 0 || this.listeners.get(hostname) !== set) return;
      this.listeners.delete(hostname);
      // Deleting the exclusive queue ends its consumer; callers stop seeing this node at once.
      await this.ch()
        .then((ch) => ch.deleteQueue(this.names.nodeQueue(hostname)))
        .catch(() => {});
    };
  }

  async reply(to: ControlReplyTo, body: ControlReply, headers: ControlReplyHeaders): Promise<void> {
    try {
      const ch = await this.ch();
      await ch.assertExchange(to.exchange, 'direct', EXCHANGE_OPTIONS);
      ch.publish(to.exchange, to.routing_key, Buffer.from(JSON.stringify(body), 'utf8'), {
        headers,
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        deliveryMode: 1,
      });
    } catch (error) {
      throw toCeleriacError(error, 'sending a control reply');
    }
  }

  replyTo(): ControlReplyTo {
    return { exchange: this.names.replyExchange, routing_key: this.oid };
  }

  private ensureReplyConsumer(): Promise<void> {
    this.replyConsumer ??= (async () => {
      const ch = await this.ch();
      const queue = this.names.replyQueue(this.oid);
      await ch.assertExchange(this.names.replyExchange, 'direct', EXCHANGE_OPTIONS);
      await ch.assertQueue(queue, QUEUE_OPTIONS);
      await ch.bindQueue(queue, this.names.replyExchange, this.oid);
      await ch.consume(
        queue,
        (msg) => {
          if (!msg) return;
          const body = decode(msg);
          if (typeof body !== 'object' || body === null) return;
          const ticket = (msg.properties.headers as Record<string, unknown> | undefined)?.ticket;
          this.collectors.deliver(ticket, body as ControlReply);
        },
        { noAck: true },
      );
    })();
    this.replyConsumer.catch(() => {
      this.replyConsumer = undefined;
    });
    return this.replyConsumer;
  }

  async publish(
    request: ControlRequest,
    headers: ControlRequestHeaders,
    collect?: CollectOptions,
  ): Promise<ControlReply[]> {
    let collection: ReplyCollection | undefined;
    try {
      if (collect) {
        await this.ensureReplyConsumer();
        collection = this.collectors.start(collect);
      }
      const ch = await this.ch();
      await ch.assertExchange(this.names.exchange, 'fanout', EXCHANGE_OPTIONS);
      ch.publish(this.names.exchange, '', Buffer.from(JSON.stringify(request), 'utf8'), {
        headers,
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        deliveryMode: 2,
      });
    } catch (error) {
      collection?.cancel();
      throw toCeleriacError(error, 'publishing a control command');
    }
    return collection ? collection.finished : [];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.collectors.closeAll();
    this.listeners.clear();
    // Closing the connection deletes the exclusive queues with it.
    await this.connection.close();
  }
}

/** The factory the CLIs and apps use for Celery remote control on an `amqp://` or `amqps://` URL. */
export function createControlTransport(url: string, options?: RabbitMQControlOptions): ControlTransport {
  return new RabbitMQControlTransport(url, options);
}

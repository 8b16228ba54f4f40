import { randomUUID } from 'node:crypto';
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
import { type ClientSettings, connectClient, createClient, type RedisClient } from './connection.js';
import { toCeleriacError } from './errors.js';
import { PRIORITY_SEP } from './keys.js';
import { type ParsedRedisUrl, parseRedisUrl } from './url.js';

/** Options for {@link RedisControlTransport}. */
export interface RedisControlOptions {
  /** Celery's `control_exchange`. @default 'celery' */
  readonly namespace?: string;
}

/** kombu's binding tables: `_kombu.binding.<exchange>`, members `routing_key SEP pattern SEP queue`. */
const BINDING_PREFIX = '_kombu.binding.';
/** kombu 5.7 sweeps binding tables whose deadline here passed; a live caller keeps pushing it out. */
const BINDING_DEADLINES = '_kombu.binding_deadlines';
const BINDING_TTL_MS = 60 * 60 * 1000;
/** Longest single BRPOP, so a finished collection frees the connection soon. */
const POLL_SECONDS = 0.25;

function envelope(body: unknown, headers: object, exchange: string, routingKey: string, mode: 1 | 2): string {
  return JSON.stringify({
    body: Buffer.from(JSON.stringify(body), 'utf8').toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers,
    properties: {
      delivery_mode: mode,
      delivery_info: { exchange, routing_key: routingKey },
      priority: 0,
      body_encoding: 'base64',
      delivery_tag: randomUUID(),
    },
  });
}

/** The body and headers of a kombu envelope; `undefined` for anything else. */
function openEnvelope(raw: string): { body: unknown; headers: Record<string, unknown> } | undefined {
  try {
    const e = JSON.parse(raw) as {
      body?: unknown;
      headers?: Record<string, unknown>;
      properties?: { body_encoding?: string };
    };
    if (typeof e.body !== 'string') return undefined;
    const text =
      e.properties?.body_encoding === 'base64' ? Buffer.from(e.body, 'base64').toString('utf8') : e.body;
    return { body: JSON.parse(text) as unknown, headers: e.headers ?? {} };
  } catch {
    return undefined;
  }
}

function brokerInfo(parsed: ParsedRedisUrl): ControlBrokerInfo {
  const t = parsed.target;
  const first = t.kind === 'cluster' ? t.nodes[0] : undefined;
  return {
    transport: 'redis',
    hostname:
      first?.host ?? (t.kind === 'sentinel' ? String(t.options.name ?? '') : (t.options.host ?? '127.0.0.1')),
    port: first?.port ?? (t.kind === 'single' ? (t.options.port ?? 6379) : null),
    virtual_host: String(t.kind === 'cluster' ? 0 : (t.options.db ?? 0)),
    userid: t.options.username ?? null,
    ssl: t.options.tls !== undefined,
  };
}

/**
 * Celery's remote control over Redis, as kombu does it: commands are `PUBLISH`ed on
 * `/<db>.celery.pidbox` (kombu's fanout), replies are pushed onto the caller's list
 * `<oid>.reply.celery.pidbox`, found through kombu's binding table of `reply.celery.pidbox`.
 * Python workers and callers (`celery inspect`, Flower) on the same Redis take part unchanged.
 */
export class RedisControlTransport implements ControlTransport {
  readonly broker: ControlBrokerInfo;
  private readonly names: MailboxNames;
  private readonly settings: ClientSettings;
  private readonly display: string;
  private readonly channel: string;
  private readonly oid = randomUUID();
  /** The caller's reply list; Celery replies at priority 0, which kombu keeps in the plain list. */
  private readonly replyKey: string;
  private readonly clients = new Map<string, { client: RedisClient; ready: Promise<void> }>();
  private readonly collectors = new ReplyCollectors();
  private readonly subscribers = new Set<(message: ControlMessage) => void>();
  private handlerSet = false;
  private boundAt = 0;
  private polling = false;
  private closed = false;

  constructor(url: string, options: RedisControlOptions = {}) {
    const parsed = parseRedisUrl(url);
    this.settings = { target: parsed.target };
    this.display = parsed.display;
    this.broker = brokerInfo(parsed);
    this.names = mailboxNames(options.namespace ?? DEFAULT_CONTROL_NAMESPACE);
    const db = parsed.target.kind === 'cluster' ? 0 : (parsed.target.options.db ?? 0);
    // kombu's fanout channel: the `/{db}.` prefix, then the exchange (no routing key for pidbox).
    this.channel = `/${db}.${this.names.exchange}`;
    this.replyKey = this.names.replyQueue(this.oid);
  }

  /** A connected client for one role, made on first use. */
  private async client(role: 'control' | 'control-sub' | 'control-reply'): Promise<RedisClient> {
    let entry = this.clients.get(role);
    if (!entry) {
      const client = createClient(this.settings, role, role === 'control-reply');
      client.on('error', () => {});
      entry = { client, ready: connectClient(client, this.display) };
      this.clients.set(role, entry);
      entry.ready.catch(() => this.clients.delete(role));
    }
    await entry.ready;
    return entry.client;
  }

  async listen(_hostname: string, onMessage: (message: ControlMessage) => void): Promise<StopListening> {
    const sub = await this.client('control-sub');
    if (!this.handlerSet) {
      this.handlerSet = true;
      sub.on('message', (channel: string, raw: string) => {
        if (channel !== this.channel) return;
        const opened = openEnvelope(raw);
        const request = opened && parseControlRequest(opened.body);
        if (!opened || !request) return;
        const headers = {
          clock: Number(opened.headers.clock) || 0,
          expires: Number(opened.headers.expires) || 0,
        };
        for (const s of this.subscribers) s({ request, headers });
      });
    }
    if (this.subscribers.size === 0) {
      try {
        await sub.subscribe(this.channel);
      } catch (error) {
        throw toCeleriacError(error, 'subscribing to the control channel', this.display);
      }
    }
    this.subscribers.add(onMessage);
    return async () => {
      this.subscribers.delete(onMessage);
      if (this.subscribers.size === 0 && !this.closed) await sub.unsubscribe(this.channel).catch(() => {});
    };
  }

  async reply(to: ControlReplyTo, body: ControlReply, headers: ControlReplyHeaders): Promise<void> {
    const client = await this.client('control');
    try {
      // The reply goes where the caller bound its routing key in kombu's table for the exchange.
      const members = await client.smembers(`${BINDING_PREFIX}${to.exchange}`);
      const queues = members
        .map((m) => m.split(PRIORITY_SEP))
        .filter((parts) => parts[0] === to.routing_key && parts.length === 3)
        .map((parts) => parts[2] as string);
      const payload = envelope(body, headers, to.exchange, to.routing_key, 1);
      for (const queue of new Set(queues)) await client.lpush(queue, payload);
    } catch (error) {
      throw toCeleriacError(error, 'sending a control reply', this.display);
    }
  }

  replyTo(): ControlReplyTo {
    return { exchange: this.names.replyExchange, routing_key: this.oid };
  }

  async publish(
    request: ControlRequest,
    headers: ControlRequestHeaders,
    collect?: CollectOptions,
  ): Promise<ControlReply[]> {
    const client = await this.client('control');
    let collection: ReplyCollection | undefined;
    try {
      if (collect) {
        await this.bind(client);
        collection = this.collectors.start(collect);
      }
      await client.publish(this.channel, envelope(request, headers, this.names.exchange, '', 2));
    } catch (error) {
      collection?.cancel();
      throw toCeleriacError(error, 'publishing a control command', this.display);
    }
    if (!collection) return [];
    void this.poll();
    return collection.finished;
  }

  /** Registers the reply queue in kombu's binding table (again after an hour, as kombu refreshes). */
  private async bind(client: RedisClient): Promise<void> {
    if (Date.now() - this.boundAt < BINDING_TTL_MS / 3) return;
    const exchange = this.names.replyExchange;
    const member = [this.oid, '', this.names.replyQueue(this.oid)].join(PRIORITY_SEP);
    await client.sadd(`${BINDING_PREFIX}${exchange}`, member);
    // Separate commands, not a script: the two keys may live in different cluster slots.
    await client.zadd(BINDING_DEADLINES, 'GT', Date.now() + BINDING_TTL_MS, exchange);
    this.boundAt = Date.now();
  }

  /** One BRPOP loop per transport, running while any collection waits. */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const blocking = await this.client('control-reply');
      while (this.collectors.size > 0 && !this.closed) {
        const got = await blocking.brpop(this.replyKey, POLL_SECONDS);
        if (!got) continue;
        const opened = openEnvelope(got[1]);
        if (!opened || typeof opened.body !== 'object' || opened.body === null) continue;
        const ticket = opened.headers.ticket;
        this.collectors.deliver(ticket, opened.body as ControlReply);
      }
    } catch {
      // A lost connection ends this loop; collections still end at their timeouts.
    } finally {
      this.polling = false;
    }
    if (this.collectors.size > 0 && !this.closed) setTimeout(() => void this.poll(), 100).unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.collectors.closeAll();
    const control = this.clients.get('control');
    if (control && this.boundAt > 0) {
      await control.ready
        .then(async () => {
          const member = [this.oid, '', this.names.replyQueue(this.oid)].join(PRIORITY_SEP);
          await control.client.srem(`${BINDING_PREFIX}${this.names.replyExchange}`, member);
          await control.client.del(this.replyKey);
        })
        .catch(() => {});
    }
    // A BRPOP in flight holds its connection until its timeout; do not wait for it.
    this.clients.get('control-reply')?.client.disconnect();
    this.clients.delete('control-reply');
    await Promise.all(
      [...this.clients.values()].map(({ client, ready }) =>
        ready.then(
          () =>
            client.quit().then(
              () => undefined,
              () => client.disconnect(),
            ),
          () => client.disconnect(),
        ),
      ),
    );
    this.clients.clear();
  }
}

/** The factory the CLIs and apps use for Celery remote control on a Redis broker URL. */
export function createControlTransport(url: string, options?: RedisControlOptions): ControlTransport {
  return new RedisControlTransport(url, options);
}

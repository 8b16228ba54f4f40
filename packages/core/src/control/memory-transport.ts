import { randomUUID } from 'node:crypto';
import type {
  ControlReply,
  ControlReplyHeaders,
  ControlReplyTo,
  ControlRequest,
  ControlRequestHeaders,
} from './protocol.js';
import type {
  CollectOptions,
  ControlBrokerInfo,
  ControlMessage,
  ControlTransport,
  StopListening,
} from './transport.js';

/**
 * Where in-process control transports meet: commands fan out to every listener, replies go to the
 * caller's reply address. Transports made on one bus see each other.
 */
export class MemoryControlBus {
  /** @internal */
  readonly listeners = new Set<(message: ControlMessage) => void>();
  /** @internal */
  readonly replyQueues = new Map<string, (reply: ControlReply, ticket: string) => void>();
}

const sharedBus = new MemoryControlBus();

/**
 * Remote control inside one process, for the in-memory broker and for tests: the same commands
 * and replies as over a broker, JSON-copied as a broker would, delivered asynchronously.
 */
export class MemoryControlTransport implements ControlTransport {
  readonly broker: ControlBrokerInfo = {
    transport: 'memory',
    hostname: 'localhost',
    port: null,
    virtual_host: null,
    userid: null,
    ssl: false,
  };
  private readonly oid = randomUUID();
  private readonly mine = new Set<(message: ControlMessage) => void>();
  private readonly collectors = new Set<(reply: ControlReply, ticket: string) => void>();

  /** @param bus Transports on the same bus see each other. @default one bus per process */
  constructor(private readonly bus: MemoryControlBus = sharedBus) {}

  async listen(_hostname: string, onMessage: (message: ControlMessage) => void): Promise<StopListening> {
    this.bus.listeners.add(onMessage);
    this.mine.add(onMessage);
    return async () => {
      this.bus.listeners.delete(onMessage);
      this.mine.delete(onMessage);
    };
  }

  async reply(to: ControlReplyTo, body: ControlReply, headers: ControlReplyHeaders): Promise<void> {
    const copy = JSON.parse(JSON.stringify(body)) as ControlReply;
    setImmediate(() => this.bus.replyQueues.get(to.routing_key)?.(copy, headers.ticket));
  }

  replyTo(): ControlReplyTo {
    return { exchange: 'reply.celery.pidbox', routing_key: this.oid };
  }

  async publish(
    request: ControlRequest,
    headers: ControlRequestHeaders,
    collect?: CollectOptions,
  ): Promise<ControlReply[]> {
    const message = JSON.parse(JSON.stringify({ request, headers })) as ControlMessage;
    const replies: ControlReply[] = [];
    const finished = collect
      ? new Promise<void>((resolve) => {
          const timer = setTimeout(() => done(), collect.timeoutMs);
          const done = () => {
            clearTimeout(timer);
            this.collectors.delete(onReply);
            resolve();
          };
          const onReply = (reply: ControlReply, ticket: string) => {
            if (ticket !== collect.ticket) return;
            replies.push(reply);
            collect.onReply?.(reply);
            if (collect.limit !== undefined && replies.length >= collect.limit) done();
          };
          this.collectors.add(onReply);
          this.bus.replyQueues.set(this.oid, (reply, ticket) => {
            for (const c of [...this.collectors]) c(reply, ticket);
          });
        })
      : undefined;
    for (const listener of [...this.bus.listeners]) setImmediate(() => listener(message));
    await finished;
    return replies;
  }

  async close(): Promise<void> {
    for (const l of this.mine) this.bus.listeners.delete(l);
    this.mine.clear();
    this.bus.replyQueues.delete(this.oid);
  }
}

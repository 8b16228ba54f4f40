import type {
  ControlReply,
  ControlReplyHeaders,
  ControlReplyTo,
  ControlRequest,
  ControlRequestHeaders,
} from './protocol.js';

/** A command as a node receives it. */
export interface ControlMessage {
  readonly request: ControlRequest;
  readonly headers: ControlRequestHeaders;
}

/** How long to gather replies to one broadcast. */
export interface CollectOptions {
  /** The request's ticket; only replies carrying it are gathered. */
  readonly ticket: string;
  /** Stop listening after this long. */
  readonly timeoutMs: number;
  /** Stop as soon as this many replies came (e.g. the number of destinations). */
  readonly limit?: number;
  /** Called with each reply as it arrives. */
  readonly onReply?: (reply: ControlReply) => void;
}

/** The broker a transport talks to, for the `broker` section of Celery's `stats` reply. */
export interface ControlBrokerInfo {
  /** kombu's transport name: `redis`, `amqp`, `kafka`. */
  readonly transport: string;
  readonly hostname: string;
  readonly port: number | null;
  readonly virtual_host: string | null;
  readonly userid: string | null;
  readonly ssl: boolean;
}

/** Stops a node's subscription. */
export type StopListening = () => Promise<void>;

/**
 * Where Celery remote control travels: kombu's `celery.pidbox` fanout and `reply.celery.pidbox`
 * replies on Redis and RabbitMQ, a control topic of Celeriac's own on Kafka. Adapters provide one
 * (`createControlTransport(url)`); the node and the client built on it are transport-neutral.
 *
 * The worker side uses {@link listen} and {@link reply}; the caller side {@link replyTo} and
 * {@link publish}. One transport may serve both.
 */
export interface ControlTransport {
  /** Where the transport connects (no credentials). */
  readonly broker: ControlBrokerInfo;
  /**
   * Receives every command broadcast in the namespace, on behalf of node `hostname` (which
   * commands concern the node is decided by the caller, with `isAddressedTo`). Resolves once
   * commands published from now on will arrive.
   */
  listen(hostname: string, onMessage: (message: ControlMessage) => void): Promise<StopListening>;
  /** Sends one node's reply (`{ hostname: result }`) to a caller's reply address. */
  reply(to: ControlReplyTo, body: ControlReply, headers: ControlReplyHeaders): Promise<void>;
  /** The reply address of this transport's calls, put in a request's `reply_to`. */
  replyTo(): ControlReplyTo;
  /**
   * Broadcasts a command. With `collect`, the reply queue is ready before the command leaves, and
   * the replies carrying `collect.ticket` are gathered until the timeout or the limit.
   */
  publish(
    request: ControlRequest,
    headers: ControlRequestHeaders,
    collect?: CollectOptions,
  ): Promise<ControlReply[]>;
  close(): Promise<void>;
}

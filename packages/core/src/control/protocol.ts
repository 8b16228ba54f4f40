/**
 * Celery's remote control ("pidbox") as it travels: the request body a caller broadcasts, the
 * reply a node sends back, and kombu's headers around them. The names and shapes are Celery's, so
 * `celery inspect`, Python's `app.control` and Flower talk to Celeriac workers unchanged.
 *
 * @packageDocumentation
 */

/** Where a node sends its reply: kombu's reply exchange and the caller's routing key (its oid). */
export interface ControlReplyTo {
  readonly exchange: string;
  readonly routing_key: string;
}

/** A control command as Celery's `Mailbox._publish` sends it. */
export interface ControlRequest {
  /** The command, e.g. `ping`, `revoke`, `stats`. */
  readonly method: string;
  /** Keyword arguments, by name (`{ task_id, terminate, signal }` for `revoke`). */
  readonly arguments: Readonly<Record<string, unknown>>;
  /** Node names the command is for; `null` or empty: every node. */
  readonly destination: readonly string[] | null;
  /** With `matcher`, selects nodes by name instead of `destination`. */
  readonly pattern: string | null;
  /** `glob` (the default) or `pcre`. */
  readonly matcher: string | null;
  /** Present when the caller waits for replies: they carry it back in their `ticket` header. */
  readonly ticket?: string;
  readonly reply_to?: ControlReplyTo;
}

/** kombu's headers on a request: a Lamport clock and when the caller stops listening (Unix seconds, 0: never). */
export interface ControlRequestHeaders {
  readonly clock: number;
  readonly expires: number;
}

/** kombu's headers on a reply: the request's ticket and the node's Lamport clock. */
export interface ControlReplyHeaders {
  readonly ticket: string;
  readonly clock: number;
}

/** One node's reply, keyed by its name: `{ 'w1@host': { ok: 'pong' } }`. */
export type ControlReply = Readonly<Record<string, unknown>>;

/** Celery's success shape for control commands. */
export interface ControlOk<T = unknown> {
  readonly ok: T;
}

/** Celery's failure shape for control commands. */
export interface ControlError {
  readonly error: string;
}

/** `{ ok: value }`, as Celery's `ok()`. */
export function ok<T>(value: T): ControlOk<T> {
  return { ok: value };
}

/** `{ error: message }`, as Celery's `nok()`. */
export function nok(message: string): ControlError {
  return { error: message };
}

/** Celery's default control namespace (its `control_exchange` setting). */
export const DEFAULT_CONTROL_NAMESPACE = 'celery';

/** kombu's mailbox names for a namespace. */
export interface MailboxNames {
  /** The fanout exchange commands are broadcast on: `celery.pidbox`. */
  readonly exchange: string;
  /** The direct exchange replies go through: `reply.celery.pidbox`. */
  readonly replyExchange: string;
  /** A node's own queue: `<hostname>.celery.pidbox`. */
  nodeQueue(hostname: string): string;
  /** A caller's reply queue: `<oid>.reply.celery.pidbox`. */
  replyQueue(oid: string): string;
}

/** The exchange and queue names kombu derives from a control namespace. */
export function mailboxNames(namespace: string = DEFAULT_CONTROL_NAMESPACE): MailboxNames {
  const exchange = `${namespace}.pidbox`;
  const replyExchange = `reply.${namespace}.pidbox`;
  return {
    exchange,
    replyExchange,
    nodeQueue: (hostname) => `${hostname}.${exchange}`,
    replyQueue: (oid) => `${oid}.${replyExchange}`,
  };
}

/** Python's `fnmatch` (case-sensitive, as on POSIX) as a regular expression. */
function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) source += '\\[';
      else {
        let set = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (set.startsWith('!')) set = `^${set.slice(1)}`;
        source += `[${set}]`;
        i = end;
      }
    } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

/**
 * Whether a node named `hostname` handles `request`, as kombu's `Node.handle_message` decides:
 * a destination list names it, else a pattern matches it (glob or pcre), else every node does.
 */
export function isAddressedTo(request: ControlRequest, hostname: string): boolean {
  if (request.destination && request.destination.length > 0) return request.destination.includes(hostname);
  if (request.pattern && request.matcher) {
    try {
      // kombu's pcre is Python's re.match: anchored at the start only.
      if (request.matcher === 'pcre') return new RegExp(`^(?:${request.pattern})`).test(hostname);
      if (request.matcher === 'glob') return globToRegExp(request.pattern).test(hostname);
    } catch {
      return false;
    }
    return false;
  }
  return true;
}

/** Reads a request body defensively: anything not shaped like one is `undefined`. */
export function parseControlRequest(value: unknown): ControlRequest | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.method !== 'string') return undefined;
  const args = v.arguments;
  const destination = Array.isArray(v.destination)
    ? v.destination.filter((d): d is string => typeof d === 'string')
    : null;
  const replyTo = v.reply_to as Record<string, unknown> | null | undefined;
  const hasReply =
    typeof v.ticket === 'string' &&
    typeof replyTo === 'object' &&
    replyTo !== null &&
    typeof replyTo.exchange === 'string' &&
    typeof replyTo.routing_key === 'string';
  return {
    method: v.method,
    arguments:
      typeof args === 'object' && args !== null && !Array.isArray(args)
        ? (args as Record<string, unknown>)
        : {},
    destination,
    pattern: typeof v.pattern === 'string' ? v.pattern : null,
    matcher: typeof v.matcher === 'string' ? v.matcher : null,
    ...(hasReply
      ? {
          ticket: v.ticket as string,
          reply_to: { exchange: replyTo.exchange as string, routing_key: replyTo.routing_key as string },
        }
      : {}),
  };
}

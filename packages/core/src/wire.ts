import { recallBodyText } from './body-text.js';
import { DecodeError } from './errors.js';
import { decodeJson, type EncodeJsonOptions, encodeJson } from './json-codec.js';
import {
  clampPriority,
  type TaskBody,
  type TaskEmbed,
  type TaskHeaders,
  type TaskMessage,
  type TaskProperties,
} from './message.js';

/**
 * A message as a transport carries it, after the adapter has unwrapped its own envelope
 * (Redis JSON envelope, AMQP properties, Kafka headers): headers, properties and the body text.
 */
export interface WireParts {
  readonly headers: unknown;
  readonly properties?: Record<string, unknown>;
  /** The body as JSON text (already base64-decoded), or already-parsed JSON. */
  readonly body: string | unknown;
  readonly contentType?: string | undefined;
  readonly contentEncoding?: string | undefined;
}

const EMBED_KEYS = ['callbacks', 'errbacks', 'chain', 'chord'];
const NO_EMBED = '{"callbacks":null,"errbacks":null,"chain":null,"chord":null}';

/** An embed with no callbacks, errbacks, chain or chord, in the standard key order. */
function isEmptyEmbed(embed: unknown): boolean {
  if (typeof embed !== 'object' || embed === null || 'toJSON' in embed) return false;
  let i = 0;
  for (const key in embed) {
    if (key !== EMBED_KEYS[i] || (embed as Record<string, unknown>)[key] !== null) return false;
    i += 1;
  }
  return i === EMBED_KEYS.length;
}

/** The embed's JSON: the usual empty one without the serialiser. */
function embedText(embed: unknown): string {
  if (isEmptyEmbed(embed)) return NO_EMBED;
  // What JSON writes in an array for a value it leaves out of an object (undefined): null.
  return (encodeJson(embed) as string | undefined) ?? 'null';
}

/**
 * Serialises the body `[args, kwargs, embed]` as kombu JSON. The client's messages come with the
 * JSON of their args and kwargs already written (for the repr headers): the body is written around
 * it. A call with only kwargs and no canvas (most other messages) is written around the kwargs'
 * JSON: the same text, with only the kwargs to walk.
 */
export function encodeBody(message: TaskMessage, options?: EncodeJsonOptions): string {
  const { body } = message;
  if (options !== undefined || !Array.isArray(body) || body.length !== 3) return encodeJson(body, options);
  const known = recallBodyText(body);
  if (known) return `[${known.argsText},${known.kwargsText},${embedText(body[2])}]`;
  const [args, kwargs, embed] = body;
  if (
    Array.isArray(args) &&
    args.length === 0 &&
    !('toJSON' in args) &&
    typeof kwargs === 'object' &&
    kwargs !== null &&
    !('toJSON' in kwargs) &&
    isEmptyEmbed(embed)
  ) {
    const text = encodeJson(kwargs);
    if (text !== undefined) return `[[],${text},${NO_EMBED}]`;
  }
  return encodeJson(body, options);
}

/** Serialises headers with the same codec (headers may carry tagged values in theory; in practice not). */
export function encodeHeaders(headers: TaskHeaders): string {
  return JSON.stringify(headers);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/**
 * The embed with each link checked. Its four keys are written first, in one literal, so every
 * embed shares one object shape whichever keys the wire left out (as for the headers, below); any
 * other key (a v1 body's fields) is copied after them.
 */
function normaliseEmbed(v: unknown): TaskEmbed | null {
  if (!isObject(v)) return null;
  const out: TaskEmbed = {
    callbacks: Array.isArray(v.callbacks) ? (v.callbacks as TaskEmbed['callbacks']) : null,
    errbacks: Array.isArray(v.errbacks) ? (v.errbacks as TaskEmbed['errbacks']) : null,
    chain: Array.isArray(v.chain) ? (v.chain as TaskEmbed['chain']) : null,
    chord: isObject(v.chord) ? (v.chord as unknown as TaskEmbed['chord']) : null,
  };
  copyExtras(out, v, EMBED_KEY_SET);
  return out;
}

const EMBED_KEY_SET = new Set(EMBED_KEYS);

/** Copies `from`'s own keys that are not in `known` onto `to`, as spreading `from` first kept them. */
function copyExtras(to: object, from: Record<string, unknown>, known: ReadonlySet<string>): void {
  for (const key in from) {
    if (known.has(key) || !Object.hasOwn(from, key)) continue;
    // Defined, not assigned: a `__proto__` key from JSON stays a plain key.
    if (key === '__proto__')
      Object.defineProperty(to, key, {
        value: from[key],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else (to as Record<string, unknown>)[key] = from[key];
  }
}

/** The headers {@link fillHeaders} always writes; any other key a message carries is copied after them. */
const KNOWN_HEADERS = new Set([
  'lang',
  'task',
  'id',
  'shadow',
  'eta',
  'expires',
  'group',
  'group_index',
  'retries',
  'timelimit',
  'root_id',
  'parent_id',
  'argsrepr',
  'kwargsrepr',
  'origin',
  'ignore_result',
  'replaced_task_nesting',
  'stamped_headers',
  'stamps',
]);

function num(x: unknown): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

/**
 * Every header with its protocol default filled in. The known headers are written first, in one
 * literal, so every message's headers share one object shape whichever fields the wire left out
 * (spreading the wire's headers first gave each combination of missing fields its own shapes, and
 * a sparse message cost twenty times a full one); any other header is copied after them.
 */
function fillHeaders(h: Record<string, unknown>, task: string, id: string): TaskHeaders {
  const tl = Array.isArray(h.timelimit) ? h.timelimit : [null, null];
  const out: TaskHeaders = {
    lang: str(h.lang) ?? 'py',
    task,
    id,
    shadow: str(h.shadow),
    eta: str(h.eta),
    expires: str(h.expires),
    group: str(h.group),
    group_index: num(h.group_index),
    retries: num(h.retries) ?? 0,
    timelimit: [num(tl[0]), num(tl[1])],
    root_id: str(h.root_id) ?? id,
    parent_id: str(h.parent_id),
    argsrepr: str(h.argsrepr) ?? '',
    kwargsrepr: str(h.kwargsrepr) ?? '',
    origin: str(h.origin) ?? '',
    ignore_result: h.ignore_result === true,
    replaced_task_nesting: num(h.replaced_task_nesting) ?? 0,
    stamped_headers: Array.isArray(h.stamped_headers) ? (h.stamped_headers as string[]) : null,
    stamps: isObject(h.stamps) ? h.stamps : {},
  };
  copyExtras(out, h, KNOWN_HEADERS);
  return out;
}

function fillProperties(p: Record<string, unknown> | undefined, id: string): TaskProperties {
  const props = p ?? {};
  return {
    correlation_id: str(props.correlation_id) ?? id,
    reply_to: str(props.reply_to) ?? '',
    delivery_mode: props.delivery_mode === 1 ? 1 : 2,
    priority: typeof props.priority === 'number' ? clampPriority(props.priority) : null,
    content_type: 'application/json',
    content_encoding: 'utf-8',
  };
}

/**
 * The task id a message that does not decode still names (its headers' `id`, else a v1 body's):
 * the worker stores the FAILURE under it, so whoever waits on the task fails fast.
 */
function salvageId(headers: unknown, body?: unknown): string | undefined {
  if (isObject(headers) && typeof headers.id === 'string' && headers.id) return headers.id;
  if (isObject(body) && typeof body.id === 'string' && body.id) return body.id;
  return undefined;
}

/**
 * Decodes and checks a task message as a Celery worker would (v2, v1 and hybrid bodies).
 * Throws {@link DecodeError} with the reason; the worker dead-letters such messages.
 */
export function decodeTaskMessage(parts: WireParts): TaskMessage {
  const contentType = parts.contentType ?? 'application/json';
  if (contentType !== 'application/json') {
    // Celery accepts only JSON by default; pickle would mean remote code execution.
    throw new DecodeError(`refusing to deserialize content of type ${contentType}`, {
      taskId: salvageId(parts.headers),
    });
  }
  let body: unknown = parts.body;
  if (typeof body === 'string') {
    try {
      body = decodeJson(body);
    } catch (error) {
      throw new DecodeError('body is not valid JSON', { cause: error, taskId: salvageId(parts.headers) });
    }
  } else if (body instanceof Uint8Array) {
    try {
      body = decodeJson(Buffer.from(body).toString('utf8'));
    } catch (error) {
      throw new DecodeError('body is not valid JSON', { cause: error, taskId: salvageId(parts.headers) });
    }
  }
  const headers = isObject(parts.headers) ? parts.headers : {};
  let task = str(headers.task);
  let id = str(headers.id);
  let args: unknown;
  let kwargs: unknown;
  let embed: TaskEmbed | null = null;
  let h: Record<string, unknown> = headers;

  if (task && isObject(body) && 'args' in body) {
    // Hybrid: v2 headers with a v1-style dict body.
    args = body.args;
    kwargs = body.kwargs ?? {};
    embed = normaliseEmbed(body);
  } else if (task) {
    if (!Array.isArray(body))
      throw new DecodeError(`body of task ${task} is not [args, kwargs, embed]`, { taskId: id ?? undefined });
    if (body.length < 2 || body.length > 3) {
      throw new DecodeError(`body of task ${task} has ${body.length} elements; a v2 body has 3`, {
        taskId: id ?? undefined,
      });
    }
    [args, kwargs] = body;
    embed = normaliseEmbed(body[2]);
  } else if (isObject(body) && typeof body.task === 'string') {
    // Protocol v1: everything in the body.
    task = body.task;
    id = str(body.id);
    args = body.args ?? [];
    kwargs = body.kwargs ?? {};
    embed = normaliseEmbed(body);
    h = { ...body, timelimit: body.timelimit, group: body.group ?? body.taskset };
  } else {
    throw new DecodeError('no task name in headers or body (not a Celery task message)', {
      taskId: salvageId(headers, body),
    });
  }
  if (!id) throw new DecodeError(`task ${task} has no id`);
  if (!Array.isArray(args)) throw new DecodeError(`args of task ${task} is not an array`, { taskId: id });
  if (!isObject(kwargs)) throw new DecodeError(`kwargs of task ${task} is not an object`, { taskId: id });
  const taskBody: TaskBody = [args, kwargs, embed];
  return {
    headers: fillHeaders(h, task, id),
    properties: fillProperties(parts.properties, id),
    body: taskBody,
  };
}

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { rememberBodyText } from './body-text.js';
import { plainJson } from './json-codec.js';

/** The default queue, as in Celery, so TS and Python meet without configuration. */
export const DEFAULT_QUEUE = 'celery';

/** A Celery canvas signature (`celery.canvas.Signature` as a dict). */
export interface Signature {
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: Record<string, unknown>;
  subtask_type: string | null;
  immutable: boolean;
  [extra: string]: unknown;
}

/** The third element of a v2 body: canvas instructions. */
export interface TaskEmbed {
  callbacks: Signature[] | null;
  errbacks: Signature[] | null;
  /** Remaining chain steps, reversed: the next step is the last element. */
  chain: Signature[] | null;
  chord: Signature | null;
}

/** `[args, kwargs, embed]`: a v2 body always has exactly three elements. */
export type TaskBody = [args: unknown[], kwargs: Record<string, unknown>, embed: TaskEmbed | null];

/** Celery protocol v2 headers. Unknown extra headers are kept as they are. */
export interface TaskHeaders {
  lang: string;
  task: string;
  id: string;
  shadow: string | null;
  /** ISO-8601 with offset; naive values are UTC. */
  eta: string | null;
  expires: string | null;
  group: string | null;
  group_index: number | null;
  retries: number;
  /** `[hard, soft]` in seconds — hard first, as Celery's code (not its docs) has it. */
  timelimit: [number | null, number | null];
  root_id: string;
  parent_id: string | null;
  argsrepr: string;
  kwargsrepr: string;
  origin: string;
  ignore_result: boolean;
  replaced_task_nesting: number;
  stamped_headers: string[] | null;
  stamps: Record<string, unknown>;
  [extra: string]: unknown;
}

/** Message properties, transport-neutral. */
export interface TaskProperties {
  correlation_id: string;
  reply_to: string;
  delivery_mode: 1 | 2;
  /**
   * 0..9 with 9 most urgent (AMQP sense), or `null` when the producer set none: each broker then uses
   * its native default, as Celery does (RabbitMQ: lowest; Redis: kombu's main list).
   */
  priority: number | null;
  content_type: 'application/json';
  content_encoding: 'utf-8';
}

/** A Celery protocol v2 task message, decoded. Adapters only wrap it in their envelope. */
export interface TaskMessage {
  headers: TaskHeaders;
  properties: TaskProperties;
  body: TaskBody;
}

/** What {@link createTaskMessage} needs; everything else gets Celery's defaults. */
export interface TaskMessageInit {
  task: string;
  id?: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  embed?: Partial<TaskEmbed> | null;
  eta?: Date | null;
  expires?: Date | null;
  retries?: number;
  timeLimitMs?: number | null;
  softTimeLimitMs?: number | null;
  rootId?: string | null;
  parentId?: string | null;
  group?: string | null;
  groupIndex?: number | null;
  priority?: number;
  ignoreResult?: boolean;
  headers?: Record<string, unknown>;
}

const ORIGIN = `gen${process.pid}@${hostname()}`;

/** Clamp to Celery's 0..9 priority range. */
export function clampPriority(p: number | undefined): number {
  if (p === undefined || !Number.isFinite(p)) return 0;
  return Math.min(9, Math.max(0, Math.round(p)));
}

function seconds(ms: number | null | undefined): number | null {
  return ms == null ? null : ms / 1000;
}

/**
 * The JSON of a call for its repr header alone. Informational only: a value JSON cannot carry
 * (circular, a throwing `toJSON`) gets a placeholder here, and the real encoder says why it cannot
 * be sent.
 */
function reprText(value: unknown): string {
  if (Array.isArray(value) && value.length === 0 && !('toJSON' in value)) return '[]';
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    try {
      return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v)) ?? '';
    } catch {
      return '<unrepresentable>';
    }
  }
}

/** A repr of at most 1024 characters: Celery's limit, `...` marking a cut. */
function cutRepr(text: string): string {
  if (text.length <= 1024) return text;
  // Never cut a surrogate pair in two: the lone half would travel as a `\ud83d` escape, valid JSON
  // that some decoders refuse (Redis's Lua cjson among them).
  const code = text.charCodeAt(1020);
  const end = code >= 0xd800 && code <= 0xdbff ? 1020 : 1021;
  return `${text.slice(0, end)}...`;
}

/**
 * The JSON of a call's args or kwargs when it is plain (no kombu tag): the same text serves the
 * repr header and the body. `undefined` sends it down the careful path.
 */
function callText(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || 'toJSON' in value) return plainJson(value);
  // No args, or no kwargs, is common (an object input travels as kwargs): no serialiser for it.
  if (Array.isArray(value)) return value.length === 0 ? '[]' : plainJson(value);
  for (const _ in value) return plainJson(value);
  return '{}';
}

function hasKeys(value: Record<string, unknown> | undefined): value is Record<string, unknown> {
  for (const _ in value) return true;
  return false;
}

/**
 * `{ ...extra, ...headers }` (extra headers first, never overriding the standard ones), written key
 * by key onto an empty object: the spread wrote the standard headers onto a copy of the extras, which
 * gave every message its own object shapes (about 40 times the cost of the literal alone); keys added
 * to `{}` follow shapes that every message with the same extra headers shares.
 */
function withExtraHeaders(headers: TaskHeaders, extra: Record<string, unknown>): TaskHeaders {
  const out: Record<string, unknown> = {};
  for (const key in extra) if (Object.hasOwn(extra, key)) define(out, key, extra[key]);
  for (const key in headers) define(out, key, headers[key]);
  return out as TaskHeaders;
}

/** Sets an own data property; a `__proto__` key stays a plain key, as spreading kept it. */
function define(to: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(to, key, { value, enumerable: true, writable: true, configurable: true });
  else to[key] = value;
}

function isoOrNull(date: Date | null | undefined): string | null {
  return date ? date.toISOString().replace('Z', '+00:00') : null;
}

/** Builds a full v2 message with every header Celery sends, so monitors see the same fields. */
export function createTaskMessage(init: TaskMessageInit): TaskMessage {
  return buildTaskMessage(init, false);
}

/**
 * {@link createTaskMessage} for a message that goes from the client to its broker with no other
 * code seeing it on the way (or only code that calls `forgetBodyText` first): the JSON of its args
 * and kwargs is written once, for the repr headers and for the body.
 */
export function createOutgoingTaskMessage(init: TaskMessageInit): TaskMessage {
  return buildTaskMessage(init, true);
}

function buildTaskMessage(init: TaskMessageInit, remember: boolean): TaskMessage {
  const id = init.id ?? randomUUID();
  const args = init.args ?? [];
  const kwargs = init.kwargs ?? {};
  const embed: TaskEmbed | null =
    init.embed === null
      ? null
      : init.embed
        ? { callbacks: null, errbacks: null, chain: null, chord: null, ...init.embed }
        : { callbacks: null, errbacks: null, chain: null, chord: null };
  // Remembered for the body, the reprs' JSON must be what the body encoder writes (plain JSON,
  // checked for tags); a repr alone is `JSON.stringify`'s, without that walk.
  const argsText = remember ? callText(args) : undefined;
  const kwargsText = remember ? callText(kwargs) : undefined;
  const headers: TaskHeaders = {
    lang: 'js',
    task: init.task,
    id,
    shadow: null,
    eta: isoOrNull(init.eta),
    expires: isoOrNull(init.expires),
    group: init.group ?? null,
    group_index: init.groupIndex ?? null,
    retries: init.retries ?? 0,
    timelimit: [seconds(init.timeLimitMs), seconds(init.softTimeLimitMs)],
    root_id: init.rootId ?? id,
    parent_id: init.parentId ?? null,
    argsrepr: cutRepr(argsText ?? reprText(args)),
    kwargsrepr: cutRepr(kwargsText ?? reprText(kwargs)),
    origin: ORIGIN,
    ignore_result: init.ignoreResult ?? false,
    replaced_task_nesting: 0,
    stamped_headers: null,
    stamps: {},
  };
  const body: TaskBody = [args, kwargs, embed];
  if (remember && argsText !== undefined && kwargsText !== undefined)
    rememberBodyText(body, argsText, kwargsText);
  return {
    // Extra headers come first and cannot override the standard ones; most messages have none.
    headers: hasKeys(init.headers) ? withExtraHeaders(headers, init.headers) : headers,
    properties: {
      correlation_id: id,
      reply_to: '',
      delivery_mode: 2,
      priority: init.priority === undefined ? null : clampPriority(init.priority),
      content_type: 'application/json',
      content_encoding: 'utf-8',
    },
    body,
  };
}

/** Parses a Celery ISO date header; naive values are UTC, as Celery does. */
export function parseCeleryDate(value: unknown): Date | null {
  if (typeof value !== 'string' || value === '') return null;
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(value);
  const ms = Date.parse(hasZone ? value : `${value}Z`);
  return Number.isNaN(ms) ? null : new Date(ms);
}

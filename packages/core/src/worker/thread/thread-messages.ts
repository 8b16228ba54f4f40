/**
 * What crosses between the worker and a task's thread: the call, its context as data, the reply,
 * and errors as plain objects (a thrown error loses its class and own fields in a structured
 * clone, and the worker decides retries by an error's `code`, `retriable` and `delayMs`).
 *
 * @internal
 */

import type { MessagePort } from 'node:worker_threads';
import type { TaskHeaders } from '../../message.js';

/** The handler's `ctx` without its functions: what a thread can receive. */
export interface ThreadContextData {
  readonly id: string;
  readonly name: string;
  readonly attempt: number;
  readonly deliveryCount: number;
  readonly queue: string;
  readonly rootId: string;
  readonly parentId: string | null;
  readonly headers: Readonly<TaskHeaders>;
}

/** One call of a task in a thread. */
export interface ThreadCall {
  readonly module: string;
  readonly task: string;
  readonly input: unknown;
  readonly ctx: ThreadContextData;
  /** The task's own channel: aborts come in, progress goes out. */
  readonly port: MessagePort;
}

/** An error as data. */
export interface ErrorData {
  readonly name: string;
  readonly message: string;
  readonly stack?: string | undefined;
  /** Own enumerable fields (`code`, `retriable`, `delayMs`, …) that clone as they are. */
  readonly fields: Readonly<Record<string, unknown>>;
  /** Whether it was a Celeriac error (so `CeleriacError.is` holds for it again). */
  readonly celeriac: boolean;
}

/** What the thread answers. */
export type ThreadReply =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: ErrorData };

/** Messages on a task's channel. */
export type PortMessage =
  | { readonly kind: 'abort'; readonly reason: ErrorData }
  | { readonly kind: 'progress'; readonly seq: number; readonly meta: unknown; readonly state: string }
  | { readonly kind: 'progress-done'; readonly seq: number; readonly error?: ErrorData };

const CELERIAC_MARK = Symbol.for('celeriac.error');

function cloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

/** An error (or anything thrown) as data that survives a structured clone. */
export function errorToData(error: unknown): ErrorData {
  if (!(error instanceof Error))
    return { name: 'Error', message: String(error), fields: {}, celeriac: false };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) if (cloneable(value)) fields[key] = value;
  // Class fields such as `code` are own properties; a getter-defined one is read explicitly.
  for (const key of ['code', 'retriable', 'delayMs'] as const) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (value !== undefined && !(key in fields) && cloneable(value)) fields[key] = value;
  }
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    fields,
    celeriac: (error as { [CELERIAC_MARK]?: unknown })[CELERIAC_MARK] === true,
  };
}

/** The error back from its data: same name, message, stack and fields, but a plain `Error`. */
export function errorFromData(data: ErrorData): Error {
  const error = new Error(data.message);
  Object.assign(error, data.fields);
  Object.defineProperty(error, 'name', { value: data.name, configurable: true, writable: true });
  if (data.stack !== undefined) error.stack = data.stack;
  if (data.celeriac) Object.defineProperty(error, CELERIAC_MARK, { value: true });
  return error;
}

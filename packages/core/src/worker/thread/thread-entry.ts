/**
 * The code a pool thread runs for each task: import the task's module (once per thread), find the
 * implementation by task name among its exports, and call the handler with a `ctx` rebuilt from
 * data. Loaded by the thread pool, never imported by the worker.
 *
 * @internal
 */

import type { MessagePort } from 'node:worker_threads';
import type { TaskContext, TaskImplementation } from '../implement.js';
import {
  errorFromData,
  errorToData,
  type PortMessage,
  type ThreadCall,
  type ThreadContextData,
  type ThreadReply,
} from './thread-messages.js';

const modules = new Map<string, Promise<Map<string, TaskImplementation>>>();

function isImplementation(value: unknown): value is TaskImplementation {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { contract?: { name?: unknown }; handler?: unknown };
  return typeof v.handler === 'function' && typeof v.contract?.name === 'string';
}

/** Implementations a module exports: directly, or in an exported array or object. */
async function load(url: string): Promise<Map<string, TaskImplementation>> {
  const found = new Map<string, TaskImplementation>();
  const exports = (await import(url)) as Record<string, unknown>;
  for (const value of Object.values(exports)) {
    const items = Array.isArray(value)
      ? value
      : typeof value === 'object' && value !== null && !isImplementation(value)
        ? Object.values(value)
        : [value];
    for (const item of items) if (isImplementation(item)) found.set(item.contract.name, item);
  }
  return found;
}

function implementationOf(url: string, task: string): Promise<TaskImplementation> {
  let loading = modules.get(url);
  if (!loading) {
    loading = load(url);
    modules.set(url, loading);
    loading.catch(() => modules.delete(url));
  }
  return loading.then((found) => {
    const impl = found.get(task);
    if (!impl) {
      // Not a ConfigError instance: core may be another copy here; the code is what counts.
      throw Object.assign(
        new Error(`[celeriac:CONFIG_INVALID] ${url} exports no implementation of ${task}`),
        {
          name: 'ConfigError',
          code: 'CONFIG_INVALID',
          retriable: false,
        },
      );
    }
    return impl;
  });
}

class ThreadContext implements TaskContext {
  readonly id: string;
  readonly name: string;
  readonly attempt: number;
  readonly deliveryCount: number;
  readonly queue: string;
  readonly rootId: string;
  readonly parentId: string | null;
  readonly headers: ThreadContextData['headers'];
  readonly signal: AbortSignal;
  private seq = 0;
  private readonly pending = new Map<number, { resolve(): void; reject(error: unknown): void }>();

  constructor(
    data: ThreadContextData,
    private readonly port: MessagePort,
  ) {
    this.id = data.id;
    this.name = data.name;
    this.attempt = data.attempt;
    this.deliveryCount = data.deliveryCount;
    this.queue = data.queue;
    this.rootId = data.rootId;
    this.parentId = data.parentId;
    this.headers = data.headers;
    const controller = new AbortController();
    this.signal = controller.signal;
    port.on('message', (message: PortMessage) => {
      if (message.kind === 'abort') controller.abort(errorFromData(message.reason));
      else if (message.kind === 'progress-done') {
        const waiter = this.pending.get(message.seq);
        this.pending.delete(message.seq);
        if (message.error) waiter?.reject(errorFromData(message.error));
        else waiter?.resolve();
      }
    });
  }

  progress(meta: unknown, state = 'PROGRESS'): Promise<void> {
    const seq = ++this.seq;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      const message: PortMessage = { kind: 'progress', seq, meta, state };
      this.port.postMessage(message);
    });
  }
}

/** Runs one task call; never throws (the reply carries the error as data). */
export async function runInThread(call: ThreadCall): Promise<ThreadReply> {
  const ctx = new ThreadContext(call.ctx, call.port);
  try {
    const impl = await implementationOf(call.module, call.task);
    const value = await impl.handler(call.input as never, ctx);
    return { ok: true, value };
  } catch (error) {
    return { ok: false, error: errorToData(error) };
  } finally {
    call.port.close();
  }
}

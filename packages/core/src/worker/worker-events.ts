import type { TaskHeaders } from '../message.js';

/** Task events, named as Celery's (`task-succeeded`, …) so monitors read them the same way. */
export interface TaskEventMap {
  'task-received': {
    uuid: string;
    name: string;
    queue: string;
    retries: number;
    deliveryCount: number;
    /** The message headers (root_id, parent_id, eta, expires, argsrepr, kwargsrepr, …). */
    headers: Readonly<TaskHeaders>;
  };
  'task-started': { uuid: string; name: string };
  'task-succeeded': { uuid: string; name: string; result: unknown; runtimeMs: number };
  'task-failed': { uuid: string; name: string; error: unknown; runtimeMs: number };
  'task-retried': { uuid: string; name: string; error: unknown; delayMs: number; retries: number };
  'task-revoked': { uuid: string; name: string; expired: boolean };
  'task-rejected': { uuid: string | null; name: string | null; reason: { code: string; message: string } };
  /**
   * Acknowledged without running: a message whose task id already has a final result (a
   * redelivery after a crash, or a new message reusing the id). `state` is the stored one.
   */
  'task-skipped': { uuid: string; name: string; reason: 'already-finished'; state: string };
  'worker-online': { hostname: string };
  'worker-offline': { hostname: string };
  /** A transport or backend error the worker survived (it requeued the delivery). */
  'worker-error': { error: unknown };
}

/** A Celery-named event type. */
export type TaskEventName = keyof TaskEventMap;

/** A tiny typed emitter; listeners that throw are isolated from the worker. */
export class TypedEmitter<TMap extends object> {
  private readonly listeners = new Map<keyof TMap, Set<(payload: never) => void>>();

  on<K extends keyof TMap>(event: K, listener: (payload: TMap[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  /** Whether anyone listens: callers skip building a payload nobody reads. */
  has(event: keyof TMap): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }

  emit<K extends keyof TMap>(event: K, payload: TMap[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as (p: TMap[K]) => void)(payload);
      } catch {
        // A failing listener must never fail the task or crash the worker.
      }
    }
  }
}

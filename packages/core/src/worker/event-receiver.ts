import type { CeleryEvent } from './celery-events.js';

/** Options of an adapter's `createEventReceiver(url, options)`. */
export interface EventReceiverOptions {
  /** Transport errors the receiver recovered from (it reconnects on its own), for logs. */
  readonly onError?: (error: unknown) => void;
}

/**
 * The reading side of the Celery event stream — what Flower and `celery events` consume — so a
 * monitor (the dashboard, `celeriac events`) sees Celeriac and Python workers alike. Adapters
 * provide one next to their `EventTransport`. Events are best-effort, as in Celery: a
 * receiver sees what is published while it listens, nothing from before.
 */
export interface EventReceiver {
  /**
   * Calls `listener` with every event published from now on; a batch (Celery's `task.multi`)
   * arrives as its events one by one. Resolves once listening. Returns a function that removes
   * the listener.
   */
  subscribe(listener: (event: CeleryEvent) => void): Promise<() => void>;
  /** Stops listening and closes the connection. */
  close(): Promise<void>;
}

/** Flattens a published body (one event or a `task.multi` batch) into events, dropping what is not one. */
export function eventsOf(body: unknown): CeleryEvent[] {
  const list = Array.isArray(body) ? body : [body];
  return list.filter(
    (e): e is CeleryEvent =>
      typeof e === 'object' && e !== null && typeof (e as { type?: unknown }).type === 'string',
  );
}

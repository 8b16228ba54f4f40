import type { CeleryEvent } from '../worker/celery-events.js';
import { eventsOf } from '../worker/event-receiver.js';

/** A function an event receiver calls with every event. */
export type EventListener = (event: CeleryEvent) => void;

/**
 * The listeners of an adapter's `EventReceiver` and what they share on every broker: listening
 * starts once, on the first `subscribe` (and again on a later one if starting failed); each
 * published body is decoded into its events (a `task.multi` batch into one event each, garbage into
 * none) and every event goes to every listener, one failing listener not stopping the others. The
 * adapter keeps only how events arrive: `listen` subscribes on its broker and hands each body to
 * {@link EventListeners.deliverJson}.
 */
export class EventListeners {
  private readonly listeners = new Set<EventListener>();
  private ready: Promise<void> | undefined;

  /**
   * @param listen Starts listening on the broker; called on the first `subscribe`. When it
   *   rejects, it should have released what it opened: the next `subscribe` calls it again.
   */
  constructor(private readonly listen: () => Promise<void>) {}

  /** Whether listening has started (or is starting): the adapter has a subscription to end. */
  get started(): boolean {
    return this.ready !== undefined;
  }

  /** `EventReceiver.subscribe`: adds `listener`, starts listening if not yet, and resolves once listening. */
  async subscribe(listener: EventListener): Promise<() => void> {
    this.listeners.add(listener);
    this.ready ??= this.listen().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    try {
      await this.ready;
    } catch (error) {
      this.listeners.delete(listener);
      throw error;
    }
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Hands one published body (JSON text: an event or a batch) to the listeners; anything else is skipped. */
  deliverJson(text: string): void {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      // Events are best-effort: a body that is not JSON carries none.
      return;
    }
    this.deliver(eventsOf(body));
  }

  /** Hands events already decoded to every listener. */
  deliver(events: readonly CeleryEvent[]): void {
    for (const event of events) {
      for (const listener of this.listeners) {
        try {
          listener(event);
        } catch {
          // A failing listener must not stop the others.
        }
      }
    }
  }

  /** Removes every listener (the receiver is closing). */
  clear(): void {
    this.listeners.clear();
  }
}

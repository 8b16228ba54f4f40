import type { Settler } from '@celeriac/core/adapter';
import { toCeleriacError } from './errors.js';
import type { HeldFile, Store } from './store.js';

/** A message a consumer holds, with its consumer's book-keeping. */
export interface HeldMessage extends HeldFile {
  /** Given back by its consumer (close, crash): settling it resolves and does nothing. */
  returned: boolean;
  /** Still takes a fetch slot: neither handled nor settled. */
  counted: boolean;
  /** The settlement in flight (never rejects), so that close can wait for it. */
  settling: Promise<void> | undefined;
}

/** What the consumer learns from its deliveries' settlements. */
export interface SettleHooks {
  /** The message's fate is decided: it leaves the consumer's books. */
  settled(held: HeldMessage): void;
  /** The handler is done: its fetch slot is free. */
  handled(held: HeldMessage): void;
}

function noop(): void {}

/**
 * How the file broker settles a held message: ack deletes its file, requeue and dead-letter rename
 * it. A failed file operation rejects, leaving the message held and the delivery unsettled.
 */
export function fileSettler(store: Store, hooks: SettleHooks): Settler<HeldMessage> {
  const track = (held: HeldMessage, what: string, run: Promise<void>): Promise<void> => {
    const outcome = run.then(
      () => hooks.settled(held),
      (error: unknown) => {
        throw toCeleriacError(error, `${what} of a message in ${held.queue} failed`);
      },
    );
    held.settling = outcome.then(noop, noop);
    return outcome;
  };
  return {
    ack: (held) => (held.returned ? undefined : track(held, 'ack', store.ack(held))),
    requeue: (held, delayMs) =>
      held.returned ? undefined : track(held, 'requeue', store.requeue(held, delayMs)),
    deadLetter: (held, reason) =>
      held.returned ? undefined : track(held, 'dead-letter', store.deadLetter(held, reason)),
    handled: (held) => hooks.handled(held),
  };
}

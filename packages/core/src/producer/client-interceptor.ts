import { forgetBodyText } from '../body-text.js';
import type { Broker, OutgoingMessage } from '../broker.js';
import { ConfigError } from '../errors.js';

/** Hands a message on to the next interceptor, or to the broker after the last one. */
export type PublishNext = (message: OutgoingMessage) => Promise<void>;

/**
 * Wraps every publish of a client: `enqueue`, `enqueueMany`, `send` and the canvas calls
 * (`chain`, `group`, `chord`). Interceptors run in list order, the first one outermost; each calls
 * `next` with the message (changed or not) and resolves when `next` has. The message is a fresh
 * object made for this publish, so an interceptor may change its headers in place.
 *
 * An interceptor that never calls `next` drops the message (the call still resolves).
 *
 * `next` resolves once the broker has the message; in a bulk publish (`enqueueMany`, `group`), once
 * its whole batch is published: every message of a batch goes through the chain before the batch
 * goes out, and a batch is published only if no interceptor threw for any of its messages.
 *
 * @example
 * ```ts
 * const tracing: ClientInterceptor = {
 *   publish(out, next) {
 *     out.message.headers.traceparent = currentTraceparent();
 *     return next(out);
 *   },
 * };
 * const client = createClient({ broker, backend, interceptors: [tracing] });
 * ```
 */
export interface ClientInterceptor {
  publish?(message: OutgoingMessage, next: PublishNext): Promise<void>;
}

/** The publishing half of a broker: what the client, and a worker's successor tasks, publish through. */
export type Publisher = Pick<Broker, 'publish' | 'publishMany'>;

type PublishHook = Required<ClientInterceptor>;

/**
 * Puts `interceptors`' publish hooks in front of `target`. Composed once; with no hooks, `target`
 * itself comes back, so a client or worker without interceptors pays nothing per message.
 */
export function interceptPublishes(
  target: Publisher,
  interceptors: readonly ClientInterceptor[] | undefined,
): Publisher {
  const hooks = (interceptors ?? []).filter((i): i is PublishHook => typeof i.publish === 'function');
  if (hooks.length === 0) return target;
  const through = (message: OutgoingMessage, last: PublishNext, index = 0): Promise<void> => {
    const hook = hooks[index];
    if (!hook) return last(message);
    // A hook that throws instead of rejecting still ends as a rejection of this publish, and one
    // that returns no promise (plain JS) as a resolved one.
    try {
      return Promise.resolve(hook.publish(message, (m) => through(m, last, index + 1)));
    } catch (error) {
      return Promise.reject(error);
    }
  };
  const publishOne: PublishNext = (m) => target.publish(m);
  return {
    publish: (message) => {
      // A hook may change the body in place: the body is written as it leaves the last one.
      forgetBodyText(message.message.body);
      return through(message, publishOne);
    },
    publishMany: (messages) => {
      for (const m of messages) forgetBodyText(m.message.body);
      return messages.length === 0 ? target.publishMany(messages) : publishBatch(messages, target, through);
    },
  };
}

/**
 * Sends every message of a batch through the hooks, then publishes what came out in one
 * `publishMany`, in input order. A message whose chain ends without calling `next` is left out; a
 * chain that throws before its `next` keeps the whole batch from being published.
 */
async function publishBatch(
  messages: readonly OutgoingMessage[],
  target: Publisher,
  through: (message: OutgoingMessage, last: PublishNext) => Promise<void>,
): Promise<void> {
  const out: (OutgoingMessage | undefined)[] = new Array(messages.length);
  let waiting = messages.length;
  let failure: { error: unknown } | undefined;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const arrived = () => {
    if (--waiting === 0) open();
  };
  const sent = gate.then(() => {
    if (failure) throw failure.error;
    const ready = out.filter((m): m is OutgoingMessage => m !== undefined);
    return ready.length ? target.publishMany(ready) : undefined;
  });
  // Each chain's own error is reported by its run below; this only keeps the shared one handled.
  sent.catch(() => {});
  const runs = messages.map((message, i) => {
    // 'open' until the chain calls `next` ('sent') or ends without it ('left').
    let state: 'open' | 'sent' | 'left' = 'open';
    return through(message, (final) => {
      if (state !== 'open')
        return Promise.reject(
          new ConfigError(
            'a client interceptor called next() twice, or after it returned, in a bulk publish',
          ),
        );
      state = 'sent';
      out[i] = final;
      arrived();
      return sent;
    }).then(
      () => {
        if (state !== 'open') return;
        state = 'left';
        arrived();
      },
      (error: unknown) => {
        if (state === 'open') {
          state = 'left';
          failure ??= { error };
          arrived();
        }
        throw error;
      },
    );
  });
  await Promise.all(runs);
  await sent;
}

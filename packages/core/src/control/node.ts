import { createControlDispatcher, NO_REPLY } from './dispatcher.js';
import { isAddressedTo } from './protocol.js';
import type { ControlTarget } from './target.js';
import type { ControlMessage, ControlTransport } from './transport.js';

/** Options for {@link startControlNode}. */
export interface ControlNodeOptions {
  readonly transport: ControlTransport;
  readonly target: ControlTarget;
  /** Called when a reply cannot be sent; control is best-effort and never stops the worker. */
  readonly onError?: (error: unknown) => void;
}

/** A worker's mailbox node: answers Celery's remote control until stopped. */
export interface ControlNode {
  readonly hostname: string;
  /** The node's Lamport clock. */
  clock(): number;
  stop(): Promise<void>;
}

/**
 * Answers Celery's remote control (`celery inspect`, `celery control`, `app.control`, Flower) for
 * one worker, over any {@link ControlTransport}: keeps the commands addressed to this node (by
 * destination or pattern), runs them against the target and replies in Celery's shapes.
 * Resolves once commands sent from now on are received.
 */
export async function startControlNode(options: ControlNodeOptions): Promise<ControlNode> {
  const { transport, target } = options;
  const hostname = target.hostname;
  let clock = 0;
  const dispatch = createControlDispatcher(target, { broker: transport.broker, clock: () => clock });

  const handle = async ({ request, headers }: ControlMessage) => {
    // kombu's Lamport clock: adopt the sender's if ahead, then tick.
    clock = Math.max(clock, Number(headers.clock) || 0) + 1;
    if (!isAddressedTo(request, hostname)) return;
    const result = await dispatch(request);
    if (result === NO_REPLY || !request.reply_to || request.ticket === undefined) return;
    await transport.reply(
      request.reply_to,
      { [hostname]: result },
      { ticket: request.ticket, clock: ++clock },
    );
  };

  const stopListening = await transport.listen(hostname, (message) => {
    handle(message).catch((error: unknown) => options.onError?.(error));
  });
  return {
    hostname,
    clock: () => clock,
    stop: stopListening,
  };
}

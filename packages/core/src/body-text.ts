import type { TaskBody } from './message.js';

/** The JSON of a body's args and kwargs, as they were when their reprs were taken. */
export interface BodyText {
  readonly argsText: string;
  readonly kwargsText: string;
}

/**
 * The last body a producer built, with the JSON of its args and kwargs. One slot, reused: a client
 * encodes each message it builds right away (an `enqueue` builds, then publishes, in one go), so
 * the last one is the one the encoder asks for; anything else is written afresh. No map to keep
 * and no object per message, which would cost more than the JSON it saves.
 */
const last: {
  body: TaskBody | undefined;
  args: unknown;
  kwargs: unknown;
  argsText: string;
  kwargsText: string;
} = { body: undefined, args: undefined, kwargs: undefined, argsText: '', kwargsText: '' };

/**
 * Remembers the JSON a producer wrote for a body's args and kwargs (for their reprs), so that the
 * encoder does not write the same JSON again. Only for a message no code outside the client sees
 * before it is encoded: a body changed in place would be sent as it was remembered.
 */
export function rememberBodyText(body: TaskBody, argsText: string, kwargsText: string): void {
  last.body = body;
  last.args = body[0];
  last.kwargs = body[1];
  last.argsText = argsText;
  last.kwargsText = kwargsText;
}

/**
 * The remembered JSON of a body's args and kwargs, or `undefined` when it is not the body last
 * remembered or when its args or kwargs were replaced since.
 */
export function recallBodyText(body: TaskBody): BodyText | undefined {
  return last.body === body && last.args === body[0] && last.kwargs === body[1] ? last : undefined;
}

/** Forgets a body's remembered JSON: code that may change the body in place is about to see it. */
export function forgetBodyText(body: TaskBody): void {
  if (last.body === body) last.body = undefined;
}

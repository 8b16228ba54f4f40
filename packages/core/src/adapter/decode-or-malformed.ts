import { DecodeError } from '../errors.js';
import type { TaskMessage } from '../message.js';

/** A message as it came off the wire: a decoded task, or the raw text and why it did not decode. */
export type DecodedMessage =
  | { readonly kind: 'task'; readonly message: TaskMessage }
  | { readonly kind: 'malformed'; readonly raw: string; readonly error: DecodeError };

/**
 * Decodes what a transport received, never throwing: any failure becomes a malformed message that
 * the worker dead-letters with its reason. A {@link DecodeError} is kept as it is; anything else is
 * wrapped in one saying `what` went wrong. `rawOf` runs only on failure, so the raw text of a good
 * message is never built. Pass plain functions, not closures: this runs for every message.
 *
 * @example
 * ```ts
 * const decoded = decodeOrMalformed(msg, (m) => decodeTaskMessage(wirePartsOf(m)), (m) => m.content.toString());
 * ```
 */
export function decodeOrMalformed<T>(
  input: T,
  decode: (input: T) => TaskMessage,
  rawOf: (input: T) => string,
  what = 'message could not be decoded',
): DecodedMessage {
  try {
    return { kind: 'task', message: decode(input) };
  } catch (error) {
    const decodeError = error instanceof DecodeError ? error : new DecodeError(what, { cause: error });
    return { kind: 'malformed', raw: rawOf(input), error: decodeError };
  }
}

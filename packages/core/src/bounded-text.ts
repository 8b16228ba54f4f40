/**
 * Error text as it is stored, logged and sent in events: a handler may throw a message of any size
 * (or something that is not text at all), and every copy of it would cost that much again.
 */

/** Most characters of an exception message or traceback kept in a result or an event (64 Ki). */
export const MAX_ERROR_TEXT_CHARS = 64 * 1024;

/**
 * `text` cut to at most `max` characters (plus a note of the original length), never inside a
 * surrogate pair: a lone half would travel as an escape some JSON decoders refuse.
 */
export function boundText(text: string, max: number = MAX_ERROR_TEXT_CHARS): string {
  if (text.length <= max) return text;
  return `${cutBefore(text, max)}… [truncated: ${text.length} characters in all]`;
}

/**
 * A traceback cut to about `max` characters, keeping its head and its tail: the frames come after the
 * message, so a huge message must not push them out.
 */
export function boundTraceback(text: string, max: number = MAX_ERROR_TEXT_CHARS): string {
  if (text.length <= max) return text;
  const half = Math.floor(max / 2);
  const head = cutBefore(text, half);
  let from = text.length - half;
  // Never start on the second half of a surrogate pair.
  const code = text.charCodeAt(from);
  if (code >= 0xdc00 && code <= 0xdfff) from += 1;
  return `${head}\n… [${text.length - head.length - (text.length - from)} characters cut of ${text.length}] …\n${text.slice(from)}`;
}

function cutBefore(text: string, end: number): string {
  const code = text.charCodeAt(end - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? end - 1 : end);
}

/** `String(value)` that never throws (a throwing `toString`, a null-prototype object). */
export function safeString(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return String(value);
  } catch {
    return `[unprintable ${typeof value}]`;
  }
}

/** An error's message (or a thrown non-error's text) as bounded text. */
export function errorText(value: unknown): string {
  if (value instanceof Error) return boundText(safeString(value.message));
  return boundText(safeString(value));
}

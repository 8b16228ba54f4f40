import type { DeadLetter } from '@celeriac/core';

/** The note added to the reason of an entry whose raw message was cut to its head. */
function truncationNote(kept: number, size: unknown): string {
  const total = typeof size === 'number' ? `${size} bytes` : 'unknown size';
  return ` [raw message truncated: first ${kept} characters kept of ${total}; not redriven]`;
}

/** `at` as the scripts write it: ISO text from a client, unix ms from the server's clock. */
function dateOf(at: unknown): Date {
  if (typeof at === 'number') return new Date(at);
  return new Date(typeof at === 'string' ? at : 0);
}

/**
 * One dead-letter list entry, `{reason: {code, message}, raw, at, queue, truncated?, size?}`, back
 * into a DeadLetter.
 */
export function parseDeadLetter(queue: string, entry: string): DeadLetter {
  try {
    const parsed = JSON.parse(entry) as {
      queue?: unknown;
      raw?: unknown;
      at?: unknown;
      truncated?: unknown;
      size?: unknown;
      reason?: { code?: unknown; message?: unknown };
    };
    const raw = typeof parsed.raw === 'string' ? parsed.raw : entry;
    const message = typeof parsed.reason?.message === 'string' ? parsed.reason.message : '';
    return {
      queue: typeof parsed.queue === 'string' ? parsed.queue : queue,
      raw,
      at: dateOf(parsed.at),
      reason: {
        code: typeof parsed.reason?.code === 'string' ? parsed.reason.code : 'UNKNOWN',
        message: parsed.truncated === true ? message + truncationNote(raw.length, parsed.size) : message,
      },
    };
  } catch {
    // Written by someone else: keep it visible rather than hide it.
    return {
      queue,
      raw: entry,
      at: new Date(0),
      reason: { code: 'UNREADABLE', message: 'dead-letter entry is not JSON' },
    };
  }
}

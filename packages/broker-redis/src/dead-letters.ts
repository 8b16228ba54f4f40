import type { DeadLetter } from '@celeriac/core';

/** One dead-letter list entry, `{reason: {code, message}, raw, at, queue}`, back into a DeadLetter. */
export function parseDeadLetter(queue: string, entry: string): DeadLetter {
  try {
    const parsed = JSON.parse(entry) as {
      queue?: unknown;
      raw?: unknown;
      at?: unknown;
      reason?: { code?: unknown; message?: unknown };
    };
    return {
      queue: typeof parsed.queue === 'string' ? parsed.queue : queue,
      raw: typeof parsed.raw === 'string' ? parsed.raw : entry,
      at: new Date(typeof parsed.at === 'string' ? parsed.at : 0),
      reason: {
        code: typeof parsed.reason?.code === 'string' ? parsed.reason.code : 'UNKNOWN',
        message: typeof parsed.reason?.message === 'string' ? parsed.reason.message : '',
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

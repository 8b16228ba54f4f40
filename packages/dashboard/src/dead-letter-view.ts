import type { DeadLetter } from '@celeriac/core';

/** A dead letter as the page shows it. */
export interface DeadLetterView {
  readonly queue: string;
  readonly code: string;
  readonly message: string;
  readonly at: string;
  /** The task id and name, when the raw message is one the dashboard can read. */
  readonly taskId: string | null;
  readonly taskName: string | null;
  /** The raw message, cut to a readable length. */
  readonly raw: string;
}

const RAW_SHOWN = 4_000;

/** Finds `headers.id` and `headers.task` in a raw message (kombu envelopes and plain Celery JSON). */
function taskOf(raw: string): { id: string | null; name: string | null } {
  try {
    const parsed = JSON.parse(raw) as { headers?: { id?: unknown; task?: unknown } };
    const headers = parsed.headers ?? {};
    return {
      id: typeof headers.id === 'string' ? headers.id : null,
      name: typeof headers.task === 'string' ? headers.task : null,
    };
  } catch {
    // Not JSON (or not one we know): look for the fields where they would be.
    const id = /"id"\s*:\s*"([^"]{1,200})"/.exec(raw)?.[1] ?? null;
    const name = /"task"\s*:\s*"([^"]{1,200})"/.exec(raw)?.[1] ?? null;
    return { id, name };
  }
}

/** What the page shows of a dead letter. */
export function deadLetterView(letter: DeadLetter): DeadLetterView {
  const { id, name } = taskOf(letter.raw);
  return {
    queue: letter.queue,
    code: letter.reason.code,
    message: letter.reason.message,
    at: letter.at.toISOString(),
    taskId: id,
    taskName: name,
    raw: letter.raw.length > RAW_SHOWN ? `${letter.raw.slice(0, RAW_SHOWN)}…` : letter.raw,
  };
}

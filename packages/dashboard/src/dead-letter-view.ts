import type { DeadLetter } from '@celeriac/core';
import { deadLetterTask } from '@celeriac/core/producer';

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

/** What the page shows of a dead letter. */
export function deadLetterView(letter: DeadLetter): DeadLetterView {
  const { id, name } = deadLetterTask(letter);
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

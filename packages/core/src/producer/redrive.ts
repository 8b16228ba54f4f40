import type { Broker, DeadLetter } from '../broker.js';
import { type ResultBackend, TaskState } from '../result-backend.js';

/** Dead letters read to find the stored failures a redrive clears. */
const REDRIVE_READ_LIMIT = 10_000;

/** What a redrive did. */
export interface RedriveOutcome {
  /** Messages put back on the queue. */
  readonly moved: number;
  /** Stored FAILUREs cleared so the messages run again. */
  readonly cleared: number;
}

/**
 * The task id and name of a dead letter, when its raw message is one we can read (kombu envelopes
 * and plain Celery JSON); `null`s for garbage.
 */
export function deadLetterTask(letter: Pick<DeadLetter, 'raw'>): { id: string | null; name: string | null } {
  try {
    const parsed = JSON.parse(letter.raw) as { headers?: { id?: unknown; task?: unknown } };
    const headers = parsed.headers ?? {};
    return {
      id: typeof headers.id === 'string' ? headers.id : null,
      name: typeof headers.task === 'string' ? headers.task : null,
    };
  } catch {
    // Not JSON (or cut short): look for the fields where they would be.
    const id = /"id"\s*:\s*"([^"]{1,200})"/.exec(letter.raw)?.[1] ?? null;
    const name = /"task"\s*:\s*"([^"]{1,200})"/.exec(letter.raw)?.[1] ?? null;
    return { id, name };
  }
}

/**
 * Puts a queue's dead letters back on it so they run again. A worker that dead-letters a message
 * also stores a FAILURE for it (so a waiting caller fails fast), and workers skip a task whose result
 * is final: the FAILUREs of the dead-lettered tasks are cleared first. A letter that arrives between
 * the read and the redrive is put back with its FAILURE, and skipped.
 */
export async function redriveDeadLetters(
  broker: Pick<Broker, 'readDeadLetters' | 'redriveDeadLetters'>,
  backend: Pick<ResultBackend, 'getMany' | 'forget'> | undefined,
  queue: string,
): Promise<RedriveOutcome> {
  let cleared = 0;
  if (backend) {
    const letters = await broker.readDeadLetters(queue, REDRIVE_READ_LIMIT);
    const ids = [...new Set(letters.map((l) => deadLetterTask(l).id).filter((id): id is string => !!id))];
    const metas = ids.length ? await backend.getMany(ids) : [];
    const failed = ids.filter((_, i) => metas[i]?.status === TaskState.FAILURE);
    await Promise.all(failed.map((id) => backend.forget(id)));
    cleared = failed.length;
  }
  return { moved: await broker.redriveDeadLetters(queue), cleared };
}

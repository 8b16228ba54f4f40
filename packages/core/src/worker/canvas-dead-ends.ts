import type { Broker } from '../broker.js';
import { canvasTaskIds } from '../canvas-apply.js';
import type { TaskMessage } from '../message.js';
import { type ExceptionInfo, type ResultBackend, TaskState } from '../result-backend.js';
import { buildMeta } from '../result-meta.js';
import { ADVANCE_TASK, FAILED_TASK } from '../workflow/definition.js';
import { errbacksOf, onChordPart } from './canvas-dispatch.js';

/** A state nothing can follow: what a task that will never run to success passes downstream. */
export type DeadEndState = typeof TaskState.REVOKED | typeof TaskState.FAILURE;

/**
 * Settles everything that waits on a task that will never succeed (revoked, expired, terminated,
 * rejected): its remaining chain steps and its callbacks get the same final state, with the cause
 * naming this task, and a chord member is counted so the chord's body fails with `ChordError`. A
 * node of a workflow tells its driver, which settles the nodes after it and the workflow. No
 * handle downstream stays PENDING. (Python Celery leaves them PENDING; the states written here are
 * ones Python readers know.) Costs nothing for a task with no canvas around it.
 */
export async function settleDownstream(
  message: TaskMessage,
  state: DeadEndState,
  cause: ExceptionInfo,
  deps: {
    readonly backend: ResultBackend | undefined;
    readonly publisher: Pick<Broker, 'publish' | 'publishMany'>;
  },
): Promise<void> {
  const embed = message.body[2];
  const backend = deps.backend;
  if (!backend || !embed || (!embed.chain?.length && !embed.callbacks?.length && !embed.chord)) return;
  const { id } = message.headers;
  const [reason] = cause.exc_message;
  const downstream: ExceptionInfo = {
    ...cause,
    exc_message: [`${String(reason ?? cause.exc_type)} (upstream task ${id})`],
  };
  // A workflow's driver is not a task waiting on this one: its failure errback is called instead.
  const callbacks = (embed.callbacks ?? []).filter((sig) => sig.task !== ADVANCE_TASK);
  // Nested canvases too: every task of a chord or group waiting downstream.
  const waiting = [...(embed.chain ?? []), ...callbacks].flatMap((sig) => canvasTaskIds(sig));
  await Promise.all(waiting.map((w) => backend.store(buildMeta(state, w, downstream))));
  if (message.headers.group && embed.chord) await onChordPart(message, state, cause, deps.publisher, backend);
  // A workflow's driver hears of a task that never ran to an end (revoked, expired, terminated)
  // here; of a failure, through the errbacks the failure path publishes. It reads this task's
  // final state, stored before this is called, as the node's failure.
  if (state !== TaskState.REVOKED) return;
  const drivers = errbacksOf(message).filter((m) => m.message.headers.task === FAILED_TASK);
  if (drivers.length) await deps.publisher.publishMany(drivers);
}

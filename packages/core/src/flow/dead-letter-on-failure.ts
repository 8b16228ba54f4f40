import type { TaskDelivery } from '../broker.js';
import type { TaskImplementation } from '../worker/implement.js';
import type { RunnerDeps } from '../worker/runner-deps.js';
import { TASK_FAILED } from './flow-headers.js';

/** The error as the reason's text: its message, bounded (the full error is in the stored FAILURE). */
function reasonText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}

/**
 * Settles a task that failed for good: acknowledged, or — under `deadLetterOnFailure` (the
 * contract's, else the worker's) — moved to the dead-letter place with the error, so `dlq redrive`
 * runs it again (`redriveDeadLetters` clears the stored FAILURE first).
 */
export function settleFailed(
  d: TaskDelivery,
  impl: TaskImplementation,
  error: unknown,
  deps: RunnerDeps,
): Promise<void> {
  const on = impl.contract.defaults.deadLetterOnFailure ?? deps.deadLetterOnFailure ?? false;
  if (!on || !deps.broker.capabilities.deadLetter) return d.ack();
  const { id, task } = d.message.headers;
  return d.deadLetter({ code: TASK_FAILED, message: `${task}[${id}] failed for good: ${reasonText(error)}` });
}

import type { TaskDelivery } from '../../broker.js';
import { verifyMessage } from '../../signing/sign.js';
import type { RunnerDeps } from '../runner-deps.js';

/**
 * On a worker with signing keys, the first step: a message that is unsigned, signed with an unknown
 * key or altered since it was signed is dead-lettered with the `SIGNATURE_REJECTED` code, and
 * nothing else happens. No state is stored or read under the id it claims, so a forged message can
 * neither overwrite a result nor make a real task with the same id be skipped.
 */
export function rejectForged(d: TaskDelivery, deps: RunnerDeps): Promise<void> | undefined {
  if (!deps.signing) return undefined;
  const error = verifyMessage(d.message, deps.signing);
  return error ? deadLetterForged(d, error.code, error.message, deps) : undefined;
}

async function deadLetterForged(d: TaskDelivery, code: string, message: string, deps: RunnerDeps) {
  const reason = { code, message };
  await d.deadLetter(reason);
  // Neither the id nor the name it claims is trusted: the reason names them, the event does not.
  deps.events.emit('task-rejected', { uuid: null, name: null, reason });
}

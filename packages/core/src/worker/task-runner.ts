import type { Delivery, TaskDelivery } from '../broker.js';
import type { FlowTicket } from '../flow/flow-gate.js';
import { TaskState } from '../result-backend.js';
import { builtinTask } from './builtin-tasks.js';
import { settleDownstream } from './canvas-dead-ends.js';
import type { TaskImplementation } from './implement.js';
import type { RunnerDeps } from './runner-deps.js';
import {
  deferEarly,
  rejectMalformed,
  rejectPoison,
  rejectUnregistered,
  skipExpired,
  skipFinishedOrRevoked,
  skipRevoked,
  waitForAbandoned,
} from './steps/admission.js';
import { parseInput, rejectInvalidInput } from './steps/parse-input.js';
import { markStarted, runHandler } from './steps/run-handler.js';
import { publishSuccessors, storeFailure, storeSuccess, validateOutput } from './steps/store-outcome.js';
import { rejectForged } from './steps/verify-signature.js';
import { unstorableResult } from './unstorable.js';

export { progressSink } from './outcome-store.js';
export type { RunnerDeps } from './runner-deps.js';

const nothing = () => {};
const TERMINATED = {
  exc_type: 'TaskRevokedError',
  exc_message: ['terminated'],
  exc_module: 'celery.exceptions',
};

/**
 * Processes one delivery end to end, as a list of named steps: reject poison, reject unregistered,
 * skip expired, defer early, skip finished or revoked, parse input, run, store. Outcomes are stored
 * before the message is acknowledged, so a crash re-runs a task rather than losing it. `handled` is
 * called once the handler is done. Throws only on transport/backend failure, in which case the
 * caller requeues the delivery.
 *
 * The steps return a promise only when they have work to wait for, and this function awaits only
 * those: a task with a sync handler and sync schemas costs no promise beyond the broker's and the
 * backend's own.
 */
export async function processDelivery(
  d: Delivery,
  deps: RunnerDeps,
  handled: () => void = nothing,
): Promise<void> {
  if (d.kind === 'malformed') return rejectMalformed(d, deps);
  // Before anything reads or stores under the id it claims.
  const forged = rejectForged(d, deps);
  if (forged) return forged;
  const { message } = d;
  const { id, task: name } = message.headers;
  if (deps.events.has('task-received'))
    deps.events.emit('task-received', {
      uuid: id,
      name,
      queue: d.queue,
      retries: message.headers.retries,
      deliveryCount: d.deliveryCount,
      headers: message.headers,
    });

  const poison = rejectPoison(d, deps);
  if (poison) return poison;
  // Celery's built-in tasks (`celery.map`, …) when no registered task has the name.
  const impl = deps.registry.get(name) ?? builtinTask(name, deps);
  if (!impl) return rejectUnregistered(d, deps);
  const skipped =
    skipRevoked(d, deps) ?? waitForAbandoned(d, deps) ?? skipExpired(d, deps) ?? deferEarly(d, deps);
  if (skipped) return skipped;
  // A worker that holds the fleet's revoked set reads a task's state only for a redelivery (was it
  // finished before a crash?) or a message a worker published (a chain step, callback or chord body
  // has a fixed id, and a crash between publishing it and acking its parent publishes it twice);
  // otherwise every task pays the read, to honour stored revokes.
  if (
    deps.backend &&
    (d.deliveryCount > 1 || message.headers.parent_id != null || !deps.control?.revokesKnown)
  ) {
    const finished = skipFinishedOrRevoked(d, await deps.getMeta(id), deps);
    if (finished) return finished;
  }

  let input: unknown;
  try {
    input = parseInput(impl, message);
    // Await only an async schema: a sync one saves the worker a microtask per task.
    if (input instanceof Promise) input = await input;
  } catch (error) {
    return rejectInvalidInput(d, deps, error);
  }
  // Flow control (after parsing, as limits may be keyed by the input): over a limit, the task
  // goes back to the broker's delayed store and this delivery is done.
  let ticket: FlowTicket | undefined;
  if (deps.flow?.guards(name, message)) {
    const admitted = await deps.flow.admit(input, d, deps);
    if (!admitted) return;
    ticket = admitted;
  }

  const startedWrite = markStarted(d, deps);
  const started = performance.now();
  const ran = runHandler(impl, input, d, deps);
  // A sync handler's outcome comes back as is: awaiting it would only cost a microtask.
  const outcome = ran instanceof Promise ? await ran : ran;
  // A concurrency slot is held while the handler runs (an abandoned one until it really ends).
  ticket?.release(outcome.kind === 'hard-limit' ? outcome.settled : undefined);
  const runtimeMs = performance.now() - started;
  // An attempt abandoned at its hard limit keeps its slot until it really ends.
  if (outcome.kind !== 'hard-limit') handled();
  if (startedWrite) await startedWrite;

  // Terminated by a revoke: REVOKED is stored already, and nothing is stored over it.
  if (deps.control?.terminated(id)) return finishTerminated(d, deps);
  if (outcome.kind === 'hard-limit') return storeAbandoned(d, impl, outcome, runtimeMs, deps, handled);
  if (outcome.kind !== 'returned') {
    // Interrupted by shutdown, not failed: put it back for another worker.
    if (deps.shutdown.aborted) return d.requeue();
    return storeFailure(d, impl, outcome.error, runtimeMs, deps);
  }
  let result: unknown;
  try {
    result = validateOutput(impl, message, outcome.value);
    if (result instanceof Promise) result = await result;
  } catch (error) {
    return storeFailure(d, impl, error, runtimeMs, deps);
  }
  // A value that can never be stored fails the task now, before any successor sees it.
  const unstorable = unstorableResult(message, outcome.value, deps);
  if (unstorable) return storeFailure(d, impl, unstorable, runtimeMs, deps);
  // Store the success: successors first, then SUCCESS, the chord part, and only then the ack.
  const successors = publishSuccessors(message, outcome.value, deps);
  if (successors) await successors;
  await storeSuccess(d, outcome.value, deps);
  deps.events.emit('task-succeeded', { uuid: id, name, result, runtimeMs });
}

async function finishTerminated(d: TaskDelivery, deps: RunnerDeps): Promise<void> {
  const { id, task: name } = d.message.headers;
  await settleDownstream(d.message, TaskState.REVOKED, TERMINATED, deps);
  await d.ack();
  deps.events.emit('task-revoked', { uuid: id, name, expired: false });
}

/**
 * Past its hard limit: the outcome (retry or FAILURE) is stored at once, but the slot stays taken,
 * and a copy of the task arriving meanwhile waits, until the abandoned handler really ends.
 */
async function storeAbandoned(
  d: TaskDelivery,
  impl: TaskImplementation,
  outcome: { error: unknown; settled: Promise<void> },
  runtimeMs: number,
  deps: RunnerDeps,
  handled: () => void,
): Promise<void> {
  const { id } = d.message.headers;
  deps.abandoned.add(id);
  try {
    if (deps.shutdown.aborted) await d.requeue();
    else await storeFailure(d, impl, outcome.error, runtimeMs, deps);
  } finally {
    await outcome.settled;
    deps.abandoned.delete(id);
    handled();
  }
}

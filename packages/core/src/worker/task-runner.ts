import type { Delivery } from '../broker.js';
import { TaskState } from '../result-backend.js';
import { storeState } from './outcome-store.js';
import type { RunnerDeps } from './runner-deps.js';
import {
  deferEarly,
  rejectMalformed,
  rejectPoison,
  rejectUnregistered,
  skipExpired,
  skipFinishedOrRevoked,
} from './steps/admission.js';
import { parseInput, rejectInvalidInput } from './steps/parse-input.js';
import { markStarted, runHandler } from './steps/run-handler.js';
import { joinChord, publishSuccessors, storeFailure, validateOutput } from './steps/store-outcome.js';

export { progressSink } from './outcome-store.js';
export type { RunnerDeps } from './runner-deps.js';

const nothing = () => {};

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
  const impl = deps.registry.get(name);
  if (!impl) return rejectUnregistered(d, deps);
  const skipped = skipExpired(d, deps) ?? deferEarly(d, deps);
  if (skipped) return skipped;
  if (deps.backend) {
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

  const startedWrite = markStarted(d, deps);
  const started = performance.now();
  const ran = runHandler(impl, input, d, deps);
  // A sync handler's outcome comes back as is: awaiting it would only cost a microtask.
  const outcome = ran instanceof Promise ? await ran : ran;
  const runtimeMs = performance.now() - started;
  handled();
  if (startedWrite) await startedWrite;

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
  // Store the success: successors first, then SUCCESS, the chord part, and only then the ack.
  const successors = publishSuccessors(message, outcome.value, deps);
  if (successors) await successors;
  await storeState(deps, message, TaskState.SUCCESS, outcome.value);
  const chord = joinChord(message, TaskState.SUCCESS, outcome.value, deps);
  if (chord) await chord;
  await d.ack();
  deps.events.emit('task-succeeded', { uuid: id, name, result, runtimeMs });
}

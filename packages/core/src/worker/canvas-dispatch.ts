import type { Broker, OutgoingMessage } from '../broker.js';
import { type CanvasPlan, canvasTaskIds, finalTasks, planCanvas } from '../canvas-apply.js';
import { UnsupportedError } from '../errors.js';
import { createTaskMessage, type Signature, type TaskMessage } from '../message.js';
import { type ExceptionInfo, hasChordJoin, type ResultBackend, TaskState } from '../result-backend.js';
import { buildMeta } from '../result-meta.js';
import { messageFromSignature } from '../signature-message.js';

/**
 * What to publish after a success: callbacks with the result, then the next chain step, each of
 * any kind (a group, a chord, a chain, nested as deep as Celery nests them). `undefined` when
 * there is nothing.
 */
export function successorsOf(message: TaskMessage, result: unknown): CanvasPlan | undefined {
  const embed = message.body[2];
  const chain = embed?.chain;
  // Most tasks have neither: nothing to allocate for them.
  if (!embed?.callbacks?.length && !chain?.length) return undefined;
  const parent = { id: message.headers.id, rootId: message.headers.root_id };
  const plans = (embed?.callbacks ?? []).map((sig) => planCanvas(sig, [result], parent));
  if (chain && chain.length > 0) {
    const next = chain[chain.length - 1] as Signature;
    plans.push(planCanvas(next, [result], parent, chain.slice(0, -1)));
  }
  return {
    messages: plans.flatMap((p) => p.messages),
    chordSizes: plans.flatMap((p) => p.chordSizes),
  };
}

/**
 * Publishes a plan: chord sizes first (before any header member can finish), then the messages in
 * one batch. Without a chord join the sizes are not recorded, and the header members fail the body
 * with `UnsupportedError` when they finish.
 */
export async function publishPlan(
  plan: CanvasPlan,
  deps: { readonly publisher: Pick<Broker, 'publishMany'>; readonly backend: ResultBackend | undefined },
): Promise<void> {
  const { backend } = deps;
  if (plan.chordSizes.length && backend && hasChordJoin(backend))
    for (const [groupId, size] of plan.chordSizes) await backend.setChordSize(groupId, size);
  if (plan.messages.length) await deps.publisher.publishMany(plan.messages);
}

/** Errbacks receive the failed task's id as their first argument (Celery's old-style errback). */
export function errbacksOf(message: TaskMessage): OutgoingMessage[] {
  const parent = { id: message.headers.id, rootId: message.headers.root_id };
  return (message.body[2]?.errbacks ?? []).map((sig) =>
    messageFromSignature(sig, [message.headers.id], parent),
  );
}

/** Marks every remaining chain step as failed with the same error, so whoever waits is released. */
export async function failChain(
  message: TaskMessage,
  backend: ResultBackend,
  error: ExceptionInfo,
  traceback: string | null,
) {
  // Every task of a nested step too (a chord's header and body), so no handle downstream waits.
  for (const step of message.body[2]?.chain ?? [])
    for (const id of canvasTaskIds(step))
      await backend.store(buildMeta(TaskState.FAILURE, id, error, { traceback }));
}

/**
 * A chord's body that will never run: it, the canvas it may be and the steps it carries all fail,
 * and where it reports to an outer chord (a chord in a header), it counts there as failed.
 */
async function failChordBody(
  body: Signature,
  error: ExceptionInfo,
  message: TaskMessage,
  broker: Pick<Broker, 'publish' | 'publishMany'>,
  backend: ResultBackend,
): Promise<void> {
  const carried = Array.isArray(body.options?.chain) ? (body.options.chain as Signature[]) : [];
  for (const id of [...canvasTaskIds(body), ...carried.flatMap((s) => canvasTaskIds(s))])
    await backend.store(buildMeta(TaskState.FAILURE, id, error));
  for (const last of finalTasks(body)) {
    const outer = last.options?.chord as Signature | undefined;
    const outerGroup = last.options?.group_id;
    if (!outer || typeof outerGroup !== 'string' || outerGroup === message.headers.group) continue;
    const standIn = createTaskMessage({
      task: last.task,
      id: typeof last.options.task_id === 'string' ? last.options.task_id : message.headers.id,
      rootId: message.headers.root_id,
      group: outerGroup,
      groupIndex: typeof last.options.group_index === 'number' ? last.options.group_index : null,
      embed: { chord: outer },
    });
    await onChordPart(standIn, TaskState.FAILURE, error, broker, backend);
  }
}

/**
 * Records a chord header member and, when it is the last one, publishes the body with the ordered
 * results (or fails the body when a member failed), as Celery's Redis backend does. On a backend
 * without a chord join (`capabilities.chord` false) the body is failed with `UnsupportedError`.
 */
export async function onChordPart(
  message: TaskMessage,
  state: string,
  result: unknown,
  broker: Pick<Broker, 'publish' | 'publishMany'>,
  backend: ResultBackend,
): Promise<void> {
  const body = message.body[2]?.chord;
  const gid = message.headers.group;
  if (!body || !gid) return;
  const bodyId = body.options?.task_id;
  if (!hasChordJoin(backend)) {
    // The join cannot be counted, so the body would never run: fail it, so its waiter is released.
    const error = new UnsupportedError(`${backend.name} result backend`, 'chords');
    if (typeof bodyId === 'string') await backend.store(buildMeta(TaskState.FAILURE, bodyId, error));
    return;
  }
  const { done, size } = await backend.addChordPart(gid, {
    index: message.headers.group_index ?? Number.MAX_SAFE_INTEGER,
    taskId: message.headers.id,
    state,
    result,
  });
  if (size === null || done < size) return;
  const parts = await backend.getChordParts(gid);
  const failed = parts.find((p) => p.state !== TaskState.SUCCESS);
  if (failed) {
    await failChordBody(
      body,
      {
        exc_type: 'ChordError',
        exc_message: [`Dependency ${failed.taskId} raised ${JSON.stringify(failed.result)}`],
        exc_module: 'celery.exceptions',
      },
      message,
      broker,
      backend,
    );
  } else {
    // The body may be a canvas itself (a chain, a group, a chord), and may carry the steps after it.
    const plan = planCanvas(body, [parts.map((p) => p.result)], {
      id: message.headers.id,
      rootId: message.headers.root_id,
    });
    // Its meta names the chord's group, unless it reports to an outer chord (a nested header).
    for (const m of plan.messages) m.message.headers.group ??= gid;
    await publishPlan(plan, { publisher: broker, backend });
  }
  await backend.deleteChord(gid);
}

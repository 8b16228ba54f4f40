import type { Broker, OutgoingMessage } from '../broker.js';
import { UnsupportedError } from '../errors.js';
import type { Signature, TaskMessage } from '../message.js';
import { type ExceptionInfo, hasChordJoin, type ResultBackend, TaskState } from '../result-backend.js';
import { buildMeta } from '../result-meta.js';
import { messageFromSignature } from '../signature-message.js';

const NONE: readonly OutgoingMessage[] = Object.freeze([]);

/** Messages to publish after a success: callbacks with the result, then the next chain step. */
export function successorsOf(message: TaskMessage, result: unknown): readonly OutgoingMessage[] {
  const embed = message.body[2];
  const chain = embed?.chain;
  // Most tasks have neither: nothing to allocate for them.
  if (!embed?.callbacks?.length && !chain?.length) return NONE;
  const parent = { id: message.headers.id, rootId: message.headers.root_id };
  const out = (embed?.callbacks ?? []).map((sig) => messageFromSignature(sig, [result], parent));
  if (chain && chain.length > 0) {
    const next = chain[chain.length - 1] as Signature;
    out.push(messageFromSignature(next, [result], parent, { chain: chain.slice(0, -1) }));
  }
  return out;
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
  for (const step of message.body[2]?.chain ?? []) {
    const id = step.options?.task_id;
    if (typeof id === 'string') await backend.store(buildMeta(TaskState.FAILURE, id, error, { traceback }));
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
  broker: Pick<Broker, 'publish'>,
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
    if (typeof bodyId === 'string') {
      await backend.store(
        buildMeta(TaskState.FAILURE, bodyId, {
          exc_type: 'ChordError',
          exc_message: [`Dependency ${failed.taskId} raised ${JSON.stringify(failed.result)}`],
          exc_module: 'celery.exceptions',
        }),
      );
    }
  } else {
    const next = messageFromSignature(body, [parts.map((p) => p.result)], {
      id: message.headers.id,
      rootId: message.headers.root_id,
    });
    next.message.headers.group = gid;
    await broker.publish(next);
  }
  await backend.deleteChord(gid);
}

import { randomUUID } from 'node:crypto';
import { canvasTaskIds, finalTaskIds, freezeCanvas, kindOf, planCanvas } from '../canvas-apply.js';
import { ConfigError, UnsupportedError } from '../errors.js';
import type { Signature } from '../message.js';
import { hasChordJoin, type ResultBackend } from '../result-backend.js';
import type { AnySchema } from '../schema.js';
import { outputSchemaOf } from './canvas.js';
import type { Publisher } from './client-interceptor.js';

/** Whether any of the signatures is a canvas (a chain, group or chord) rather than a task. */
export function hasNested(sigs: readonly Signature[]): boolean {
  return sigs.some((s) => kindOf(s) !== 'task');
}

/** A handle to make for a published canvas: the task its result is, and every task it runs. */
export interface PublishedCanvas {
  readonly id: string;
  readonly name: string;
  readonly output: AnySchema | undefined;
  /** Every task id of the canvas, for `cancel()`. */
  readonly members: string[];
}

/**
 * Publishes a canvas of any depth as Celery's `apply_async` does: ids frozen first (so the
 * handles know them), chord sizes recorded, then every message of the first round in one batch;
 * later rounds ride in the messages (`chain`, `chord`, `link`), for any worker, TypeScript or
 * Python, to publish. Returns the frozen signature.
 */
async function publishCanvas(publisher: Publisher, backend: ResultBackend | undefined, sig: Signature) {
  const frozen = freezeCanvas(sig, `publish:${randomUUID()}`);
  const plan = planCanvas(frozen, [], { id: '', rootId: '' });
  const first = plan.messages[0];
  if (!first) throw new ConfigError('an empty canvas publishes nothing');
  // Top level: no parent; the root is the first task published, as in Celery.
  for (const { message } of plan.messages) {
    if (message.headers.parent_id === '') message.headers.parent_id = null;
    if (message.headers.root_id === '') message.headers.root_id = first.message.headers.id;
  }
  if (plan.chordSizes.length > 0) {
    if (!backend) throw new ConfigError('a chord needs a result backend: the join is counted there');
    // Up front: a header published without a join would run, and its body never would.
    if (!hasChordJoin(backend)) throw new UnsupportedError(`${backend.name} result backend`, 'chords');
    for (const [groupId, size] of plan.chordSizes) await backend.setChordSize(groupId, size);
  }
  await publisher.publishMany(plan.messages);
  return frozen;
}

function single(sig: Signature, original: Signature, what: string): PublishedCanvas {
  const finals = finalTaskIds(sig);
  const [id] = finals;
  if (finals.length !== 1 || id === undefined)
    throw new ConfigError(
      `${what} ends in a group: give it a step after the group (a chord), or send the group itself`,
    );
  return { id, name: original.task, output: outputSchemaOf(original), members: canvasTaskIds(sig) };
}

/** Publishes a chain whose steps may be canvases; the handle is on its final task. */
export async function publishNestedChain(
  publisher: Publisher,
  backend: ResultBackend | undefined,
  steps: readonly Signature[],
): Promise<PublishedCanvas> {
  const sig: Signature = {
    task: 'celery.chain',
    args: [],
    kwargs: { tasks: [...steps] },
    options: {},
    subtask_type: 'chain',
    immutable: false,
  };
  const frozen = await publishCanvas(publisher, backend, sig);
  return single(frozen, steps[steps.length - 1] as Signature, 'a chain');
}

/** Publishes a group whose members may be canvases; one handle per member, on its final task. */
export async function publishNestedGroup(
  publisher: Publisher,
  backend: ResultBackend | undefined,
  members: readonly Signature[],
): Promise<PublishedCanvas[]> {
  const sig: Signature = {
    task: 'celery.group',
    args: [],
    kwargs: { tasks: [...members] },
    options: { task_id: randomUUID() },
    subtask_type: 'group',
    immutable: false,
  };
  const frozen = await publishCanvas(publisher, backend, sig);
  const frozenMembers = frozen.kwargs.tasks as Signature[];
  return frozenMembers.map((m, i) => single(m, members[i] as Signature, 'a group member'));
}

/** Publishes a chord whose header members or body may be canvases; the handle is on its final task. */
export async function publishNestedChord(
  publisher: Publisher,
  backend: ResultBackend | undefined,
  header: readonly Signature[],
  body: Signature,
): Promise<PublishedCanvas> {
  if (header.length === 0) throw new ConfigError('a chord needs at least one header task');
  const sig: Signature = {
    task: 'celery.chord',
    args: [],
    kwargs: { kwargs: {}, header: [...header], body },
    options: {},
    subtask_type: 'chord',
    immutable: false,
  };
  const frozen = await publishCanvas(publisher, backend, sig);
  return single(frozen, body, 'a chord body');
}

import { derivedId } from './derived-id.js';
import type { Signature } from './message.js';

// The shape of Celery's canvas signatures (`celery/canvas.py`), read the way Celery reads them.

/** The kind of a Celery signature, from its `subtask_type` (or, failing that, its task name). */
export type CanvasKind = 'task' | 'chain' | 'group' | 'chord';

/** A signature's kind. */
export function kindOf(sig: Signature): CanvasKind {
  const t =
    sig.subtask_type ??
    (sig.task === 'celery.chain'
      ? 'chain'
      : sig.task === 'celery.group'
        ? 'group'
        : sig.task === 'celery.chord'
          ? 'chord'
          : null);
  return t === 'chain' || t === 'group' || t === 'chord' ? t : 'task';
}

export function list(value: unknown): Signature[] {
  return Array.isArray(value) ? (value as Signature[]) : [];
}

/** The members of a group signature, or of a chord's header (a list, or a group signature). */
export function membersOf(sig: Signature): Signature[] {
  const k = kindOf(sig);
  if (k === 'group') return list(sig.kwargs.tasks);
  if (k === 'chord') {
    const header = sig.kwargs.header;
    return Array.isArray(header) ? (header as Signature[]) : header ? membersOf(header as Signature) : [];
  }
  return list(sig.kwargs.tasks);
}

export function bodyOf(sig: Signature): Signature | undefined {
  return (sig.kwargs.body as Signature | undefined) ?? undefined;
}

export function withOptions(sig: Signature, options: Record<string, unknown>): Signature {
  return { ...sig, options: { ...sig.options, ...options } };
}

export function withoutChain(options: Record<string, unknown>): Record<string, unknown> {
  const { chain: _, ...rest } = options;
  return rest;
}

export function idOf(sig: Signature, seed: string): string {
  const id = sig.options?.task_id;
  return typeof id === 'string' && id !== '' ? id : derivedId(seed);
}

/** A chain's steps as Celery's `prepare_steps` sees them: nested chains spliced, `group | x` a chord. */
export function prepareSteps(steps: readonly Signature[]): Signature[] {
  const flat: Signature[] = [];
  for (const s of steps) {
    if (kindOf(s) === 'chain') flat.push(...prepareSteps(list(s.kwargs.tasks)));
    else flat.push(s);
  }
  const out: Signature[] = [];
  for (let i = flat.length - 1; i >= 0; i--) {
    const s = flat[i] as Signature;
    const next = out[0];
    if (kindOf(s) === 'group' && next !== undefined) {
      out[0] = chordOf(s, next);
    } else out.unshift(s);
  }
  return out;
}

/** `group | body` as Celery upgrades it: a chord whose id is the group's. */
export function chordOf(group: Signature, body: Signature): Signature {
  return {
    task: 'celery.chord',
    args: [],
    kwargs: { kwargs: {}, header: group, body },
    options: typeof group.options?.task_id === 'string' ? { task_id: group.options.task_id } : {},
    subtask_type: 'chord',
    immutable: false,
  };
}

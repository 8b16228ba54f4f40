import { rewriteFinal } from './canvas-final.js';
import { bodyOf, kindOf, list, withOptions } from './canvas-shape.js';
import type { Signature } from './message.js';

function sigList(value: unknown): Signature[] {
  return Array.isArray(value)
    ? (value as Signature[])
    : value && typeof value === 'object'
      ? [value as Signature]
      : [];
}

/** Callbacks of a canvas go where Celery puts them: a chain's last task, a chord's body, a group's first member. */
function linkFinal(sig: Signature, links: readonly Signature[]): Signature {
  return rewriteFinal(sig, {
    task: (task) => withOptions(task, { link: [...sigList(task.options?.link), ...links] }),
    // Celery links a group's callback to its first member, made immutable (it cannot see the others).
    group: (members) => {
      const fixed = links.map((l) => ({ ...l, immutable: true }));
      return members.map((m, i) => (i === 0 ? linkFinal(m, fixed) : m));
    },
  });
}

/** Errbacks of a canvas go to every task of it that may fail (a chord: its body, as Celery's default). */
function linkErrors(sig: Signature, errbacks: readonly Signature[]): Signature {
  switch (kindOf(sig)) {
    case 'chain':
    case 'group':
      return {
        ...sig,
        kwargs: { ...sig.kwargs, tasks: list(sig.kwargs.tasks).map((s) => linkErrors(s, errbacks)) },
      };
    case 'chord': {
      const body = bodyOf(sig);
      return body ? { ...sig, kwargs: { ...sig.kwargs, body: linkErrors(body, errbacks) } } : sig;
    }
    default:
      return withOptions(sig, { link_error: [...sigList(sig.options?.link_error), ...errbacks] });
  }
}

/** A canvas with its own `link`/`link_error` options moved onto the tasks that carry them out. */
export function distributeLinks(sig: Signature): Signature {
  const links = sigList(sig.options?.link);
  const errbacks = sigList(sig.options?.link_error);
  if (kindOf(sig) === 'task' || (links.length === 0 && errbacks.length === 0)) return sig;
  const { link: _l, link_error: _e, ...options } = sig.options;
  let out: Signature = { ...sig, options };
  if (links.length) out = linkFinal(out, links);
  if (errbacks.length) out = linkErrors(out, errbacks);
  return out;
}

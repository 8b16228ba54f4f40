import { bodyOf, kindOf, list, membersOf } from './canvas-shape.js';
import type { Signature } from './message.js';

/** How {@link rewriteFinal} changes the places a canvas's result comes from. */
export interface FinalRewrite {
  /** A task (or any signature that is not a canvas) the result comes from. */
  readonly task: (sig: Signature) => Signature;
  /** A group's members: which of them to rewrite, and how, is the caller's (usually by recursion). */
  readonly group: (members: readonly Signature[]) => Signature[];
}

/**
 * The signature with its final task(s) rewritten, where Celery looks for them: a chain's last step,
 * a chord's body, a group's members; nested canvases are followed down to their tasks.
 */
export function rewriteFinal(sig: Signature, rewrite: FinalRewrite): Signature {
  switch (kindOf(sig)) {
    case 'chain': {
      const steps = list(sig.kwargs.tasks);
      const last = steps.length - 1;
      return {
        ...sig,
        kwargs: { ...sig.kwargs, tasks: steps.map((s, i) => (i === last ? rewriteFinal(s, rewrite) : s)) },
      };
    }
    case 'chord': {
      const body = bodyOf(sig);
      return body ? { ...sig, kwargs: { ...sig.kwargs, body: rewriteFinal(body, rewrite) } } : sig;
    }
    case 'group':
      return { ...sig, kwargs: { ...sig.kwargs, tasks: rewrite.group(membersOf(sig)) } };
    default:
      return rewrite.task(sig);
  }
}

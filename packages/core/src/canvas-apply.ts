import type { OutgoingMessage } from './broker.js';
import { rewriteFinal } from './canvas-final.js';
import { distributeLinks } from './canvas-links.js';
import {
  bodyOf,
  type CanvasKind,
  chordOf,
  idOf,
  kindOf,
  list,
  membersOf,
  prepareSteps,
  withOptions,
  withoutChain,
} from './canvas-shape.js';
import type { Signature } from './message.js';
import { messageFromSignature } from './signature-message.js';

/** What applying a canvas needs done: chord sizes recorded first, then the messages published. */
export interface CanvasPlan {
  readonly messages: OutgoingMessage[];
  /** `[groupId, size]`, to record before any message goes out (as Celery's `set_chord_size`). */
  readonly chordSizes: [string, number][];
}

/** What the final task(s) of a signature report to: a group's id and index, and a chord body. */
interface Membership {
  readonly groupId: string;
  readonly index: number;
  readonly chord: Signature | null;
  /** The share of the index a nested member subdivides (members of a flattened group). */
  readonly span: number;
}

interface Ctx {
  readonly parent: { readonly id: string; readonly rootId: string };
  /** Steps that follow, in Celery's reversed order (the next one last). */
  readonly chain: readonly Signature[];
  readonly member: Membership | undefined;
}

/**
 * How many completions a signature contributes to a chord it is a header member of (Celery's
 * `_chord._descend`): a task 1, a group the sum of its members, a chain its last step, a chord its
 * body.
 */
export function chordWeight(sig: Signature): number {
  switch (kindOf(sig)) {
    case 'group':
      return membersOf(sig).reduce((n, m) => n + chordWeight(m), 0);
    case 'chain': {
      const steps = list(sig.kwargs.tasks);
      for (let i = steps.length - 1; i >= 0; i--) {
        const w = chordWeight(steps[i] as Signature);
        if (w > 0) return w;
      }
      return 0;
    }
    case 'chord': {
      const body = bodyOf(sig);
      return body ? chordWeight(body) : 0;
    }
    default:
      return 1;
  }
}

/** Every task id a signature names, nested canvases included: what waits on it downstream. */
export function canvasTaskIds(sig: Signature, into: string[] = []): string[] {
  const k = kindOf(sig);
  if (k === 'task') {
    const id = sig.options?.task_id;
    if (typeof id === 'string') into.push(id);
  } else {
    for (const m of membersOf(sig)) canvasTaskIds(m, into);
    const body = k === 'chord' ? bodyOf(sig) : undefined;
    if (body) canvasTaskIds(body, into);
  }
  return into;
}

/** The signature with its final task(s) reporting to `m`: where a chord header member's result goes. */
function report(sig: Signature, m: Membership | undefined): Signature {
  if (!m) return sig;
  return rewriteFinal(sig, {
    task: (task) =>
      withOptions(task, {
        group_id: m.groupId,
        group_index: m.index,
        ...(m.chord ? { chord: m.chord } : {}),
      }),
    // Every member reports, each to its own share of the index.
    group: (members) => {
      const span = m.span / Math.max(1, members.length);
      return members.map((s, i) => report(s, { ...m, index: m.index + i * span, span }));
    },
  });
}

function apply(given: Signature, args: readonly unknown[], outer: Ctx, plan: CanvasPlan, seed: string): void {
  // Steps a signature carries in its `chain` option (a chord body's continuation, as Celery's
  // `chord.run` stores it) run before any that follow from outside.
  const carried = Array.isArray(given.options?.chain) ? (given.options.chain as Signature[]) : [];
  const sig = distributeLinks(carried.length ? { ...given, options: withoutChain(given.options) } : given);
  const ctx = carried.length ? { ...outer, chain: [...outer.chain, ...carried] } : outer;
  const kind = kindOf(sig);
  // A canvas's own partial args come after the ones it is applied with, as Celery's `_merge`.
  const partial = sig.immutable ? [...sig.args] : [...args, ...sig.args];
  if (kind === 'task') {
    const own = report(sig, ctx.member);
    const frozen = withOptions(own, { task_id: idOf(own, seed) });
    plan.messages.push(messageFromSignature(frozen, args, ctx.parent, { chain: [...ctx.chain] }));
    return;
  }
  if (kind === 'chain') {
    const steps = prepareSteps(list(sig.kwargs.tasks));
    if (steps.length === 0) return;
    const last = steps.length - 1;
    const reported = steps.map((s, i) => (i === last ? report(s, ctx.member) : s));
    // Fixed ids for every later step now: a redelivered parent applies the same chain again.
    const frozen = reported.map((s, i) =>
      i === 0 || kindOf(s) !== 'task' ? s : withOptions(s, { task_id: idOf(s, `${seed}:${i}`) }),
    );
    const [first, ...rest] = frozen as [Signature, ...Signature[]];
    apply(
      first,
      partial,
      { parent: ctx.parent, chain: [...ctx.chain, ...rest.reverse()], member: undefined },
      plan,
      `${seed}:0`,
    );
    return;
  }
  if (kind === 'group') {
    const next = ctx.chain[ctx.chain.length - 1];
    // A group with steps after it waits for all its members: a chord, as Celery's upgrade.
    if (next) {
      apply(chordOf(sig, next), args, { ...ctx, chain: ctx.chain.slice(0, -1) }, plan, seed);
      return;
    }
    const members = membersOf(sig);
    const groupId = idOf(sig, `${seed}:group`);
    members.forEach((m, i) => {
      const member: Membership = ctx.member
        ? {
            ...ctx.member,
            index: ctx.member.index + (i * ctx.member.span) / members.length,
            span: ctx.member.span / members.length,
          }
        : { groupId, index: i, chord: null, span: 1 };
      apply(m, partial, { parent: ctx.parent, chain: [], member }, plan, `${seed}:${i}`);
    });
    return;
  }
  // A chord: its size recorded, its header applied with the args; the body follows the join.
  const rawBody = bodyOf(sig);
  if (!rawBody) return;
  const header = membersOf(sig);
  const headerSig = sig.kwargs.header as Signature | undefined;
  const groupId =
    (headerSig && !Array.isArray(headerSig) && typeof headerSig.options?.task_id === 'string'
      ? headerSig.options.task_id
      : undefined) ?? idOf(sig, `${seed}:chord`);
  const bodyId = idOf(rawBody, `${seed}:body`);
  // The body reports where the chord does; the steps after the chord ride in its `chain` option.
  const body = withOptions(report(rawBody, ctx.member), {
    task_id: bodyId,
    ...(ctx.member ? {} : { group_id: groupId }),
    ...(ctx.chain.length ? { chain: [...ctx.chain] } : {}),
  });
  if (header.length === 0) {
    apply(body, [[]], { parent: ctx.parent, chain: [], member: undefined }, plan, `${seed}:body`);
    return;
  }
  plan.chordSizes.push([groupId, header.reduce((n, m) => n + chordWeight(m), 0)]);
  header.forEach((m, i) => {
    apply(
      m,
      partial,
      { parent: ctx.parent, chain: [], member: { groupId, index: i, chord: body, span: 1 } },
      plan,
      `${seed}:h${i}`,
    );
  });
}

/**
 * Turns a signature of any kind, nested as deep as it goes, into the messages Celery would send
 * for it (`Signature.apply_async(args)`): a task is published with the steps that follow it in
 * `chain`; a chain's first step carries the rest; a group publishes its members; a chord records
 * its size and publishes its header, each member reporting to the body. Ids missing from the
 * signatures derive from `parent.id` and their place, so applying the same canvas again (a
 * redelivered parent) gives the same messages.
 */
export function planCanvas(
  sig: Signature,
  args: readonly unknown[],
  parent: { readonly id: string; readonly rootId: string },
  chain: readonly Signature[] = [],
): CanvasPlan {
  const plan: CanvasPlan = { messages: [], chordSizes: [] };
  apply(sig, args, { parent, chain, member: undefined }, plan, `canvas:${parent.id}:${sig.task}`);
  return plan;
}

/**
 * The signature with every id fixed (tasks, groups, chord bodies), as Celery's `freeze`: what a
 * producer does before publishing, so it knows the ids its handles wait on.
 */
export function freezeCanvas(sig: Signature, seed: string): Signature {
  switch (kindOf(sig)) {
    case 'chain':
      return {
        ...sig,
        kwargs: {
          ...sig.kwargs,
          tasks: list(sig.kwargs.tasks).map((s, i) => freezeCanvas(s, `${seed}:${i}`)),
        },
      };
    case 'group':
      return withOptions(
        {
          ...sig,
          kwargs: { ...sig.kwargs, tasks: membersOf(sig).map((s, i) => freezeCanvas(s, `${seed}:${i}`)) },
        },
        { task_id: idOf(sig, `${seed}:group`) },
      );
    case 'chord': {
      const body = bodyOf(sig);
      return withOptions(
        {
          ...sig,
          kwargs: {
            ...sig.kwargs,
            header: membersOf(sig).map((s, i) => freezeCanvas(s, `${seed}:h${i}`)),
            ...(body ? { body: freezeCanvas(body, `${seed}:body`) } : {}),
          },
        },
        { task_id: idOf(sig, `${seed}:chord`) },
      );
    }
    default:
      return withOptions(sig, { task_id: idOf(sig, seed) });
  }
}

/**
 * The tasks whose results are the canvas's result: a task itself, a chain's last step's, a chord's
 * body's, each member's of a group.
 */
export function finalTasks(sig: Signature): Signature[] {
  switch (kindOf(sig)) {
    case 'chain': {
      const steps = prepareSteps(list(sig.kwargs.tasks));
      const last = steps[steps.length - 1];
      return last ? finalTasks(last) : [];
    }
    case 'group':
      return membersOf(sig).flatMap(finalTasks);
    case 'chord': {
      const body = bodyOf(sig);
      return body ? finalTasks(body) : [];
    }
    default:
      return [sig];
  }
}

/** The ids of {@link finalTasks}, of a frozen signature (see {@link freezeCanvas}). */
export function finalTaskIds(sig: Signature): string[] {
  return finalTasks(sig).flatMap((t) => (typeof t.options?.task_id === 'string' ? [t.options.task_id] : []));
}

export { type CanvasKind, kindOf };

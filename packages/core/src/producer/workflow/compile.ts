import type { AnyTaskContract } from '../../contract.js';
import type { Signature } from '../../message.js';
import { nodeTaskId } from '../../workflow/definition.js';
import { REF_KEY, refsOf } from '../../workflow/template.js';
import type { DefinedNode } from './define.js';

/** A whole upstream result (no path into it), or `undefined`. */
function wholeRef(template: unknown): string | undefined {
  if (typeof template !== 'object' || template === null || Array.isArray(template)) return undefined;
  const ref = (template as Record<string, unknown>)[REF_KEY];
  return Array.isArray(ref) && ref.length === 1 && typeof ref[0] === 'string' ? ref[0] : undefined;
}

/**
 * What the node receives from its parent the Celery way, if it does: the one value prepended to
 * its args (a whole upstream result, or the list of them in `from` order), placed in its one
 * positional argument or its schema's first key, everything else fixed.
 */
function celeryCall(
  node: DefinedNode,
  from: readonly string[],
): { args: unknown[]; kwargs: Record<string, unknown> } | undefined {
  const fits = (value: unknown) =>
    from.length === 1
      ? wholeRef(value) === from[0]
      : Array.isArray(value) &&
        value.length === from.length &&
        value.every((v, i) => wholeRef(v) === from[i]);
  const names = node.contract.argNames;
  if (names === undefined) return fits(node.input) ? { args: [], kwargs: {} } : undefined;
  const [first] = names;
  const input = node.input as Record<string, unknown>;
  if (first === undefined || typeof input !== 'object' || input === null || !fits(input[first]))
    return undefined;
  const { [first]: _, ...rest } = input;
  return refsOf(rest).size === 0 ? { args: [], kwargs: rest } : undefined;
}

function task(
  workflowId: string,
  name: string,
  node: DefinedNode,
  call: { args: unknown[]; kwargs: Record<string, unknown> },
): Signature {
  return {
    task: node.contract.name,
    args: call.args,
    kwargs: call.kwargs,
    options: {
      task_id: nodeTaskId(workflowId, name),
      ...(node.queue !== undefined ? { queue: node.queue } : {}),
      ...(node.priority !== undefined ? { priority: node.priority } : {}),
    },
    subtask_type: null,
    immutable: false,
  };
}

function group(members: Signature[]): Signature {
  return {
    task: 'celery.group',
    args: [],
    kwargs: { tasks: members },
    options: {},
    subtask_type: 'group',
    immutable: false,
  };
}

/**
 * The workflow as one Celery canvas, when its graph is a chain of layers Celery can express: each
 * layer waits on every node of the one before; one node to one is a chain step, one to many a
 * group, many to one a chord, many to many a chord whose body is a group. Every input must take the
 * upstream results the Celery way (prepended: a whole result, or the list of a layer's results, in
 * the first positional place), and every node fail on an upstream failure, as a canvas does.
 * `undefined` otherwise.
 */
export function compileWorkflow(
  workflowId: string,
  nodes: Readonly<Record<string, DefinedNode>>,
  order: readonly string[],
): Signature | undefined {
  const layers: string[][] = [];
  const layerOf = new Map<string, number>();
  for (const name of order) {
    const node = nodes[name] as DefinedNode;
    if (node.onUpstreamFailure !== 'fail') return undefined;
    const depth = node.after.length === 0 ? 0 : Math.max(...node.after.map((a) => (layerOf.get(a) ?? 0) + 1));
    layerOf.set(name, depth);
    const layer = layers[depth] ?? [];
    layer.push(name);
    layers[depth] = layer;
  }
  const steps: Signature[] = [];
  for (const [depth, layer] of layers.entries()) {
    const prev = depth === 0 ? [] : (layers[depth - 1] as string[]);
    const members: Signature[] = [];
    for (const name of layer) {
      const node = nodes[name] as DefinedNode;
      // Each waits on the whole previous layer, and on nothing else.
      if (node.after.length !== prev.length || !prev.every((p) => node.after.includes(p))) return undefined;
      const call =
        depth === 0
          ? refsOf(node.input).size === 0
            ? inputCall(node.contract, node.input)
            : undefined
          : celeryCall(node, prev);
      if (!call) return undefined;
      members.push(task(workflowId, name, node, call));
    }
    steps.push(members.length === 1 ? (members[0] as Signature) : group(members));
  }
  return steps.length === 1
    ? steps[0]
    : {
        task: 'celery.chain',
        args: [],
        kwargs: { tasks: steps },
        options: {},
        subtask_type: 'chain',
        immutable: false,
      };
}

function inputCall(
  contract: AnyTaskContract,
  input: unknown,
): { args: unknown[]; kwargs: Record<string, unknown> } {
  if (contract.argNames !== undefined && typeof input === 'object' && input !== null)
    return { args: [], kwargs: { ...(input as Record<string, unknown>) } };
  return { args: input === undefined ? [] : [input], kwargs: {} };
}

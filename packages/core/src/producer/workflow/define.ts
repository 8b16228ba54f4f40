import type { AnyTaskContract, InferTaskInput, InferTaskOutput, InferTaskReturn } from '../../contract.js';
import { ConfigError } from '../../errors.js';
import { captureInput, refsOf } from '../../workflow/template.js';
import type { UpstreamFailure } from '../../workflow/workflow-store.js';
import type { Client } from '../client.js';
import { startWorkflow, type WorkflowRun, type WorkflowStartOptions } from './run.js';

type Dep<A, K> = K extends keyof A ? Extract<A[K], string> : never;
type Edges<A> = { [K in keyof A & string]: Dep<A, K> };
type Reach<A extends Record<string, string>, F extends string, Seen extends string = never> = [F] extends [
  never,
]
  ? Seen
  : Reach<A, Exclude<A[F & keyof A], Seen | F>, Seen | F>;
/** The nodes that can reach themselves through `after`. */
type Cyclic<A extends Record<string, string>> = {
  [K in keyof A & string]: K extends Reach<A, A[K]> ? K : never;
}[keyof A & string];

/** What the check puts in the expected type of a cyclic workflow, so the error names the nodes. */
export interface WorkflowCycle<TNodes extends string> {
  readonly 'a workflow has no cycles; these nodes depend on themselves': TNodes;
}

/**
 * The upstream results a node's input mapping receives: each node in its `after`, typed as the
 * value its handler returns (what travels, before output parsing).
 */
export type UpstreamResults<T extends Record<string, AnyTaskContract>, A, K extends keyof T> = {
  readonly [P in Dep<A, K> & keyof T]: InferTaskReturn<T[P]>;
};

/** One node of a {@link workflow}. */
export interface WorkflowNode<T extends Record<string, AnyTaskContract>, A, K extends keyof T> {
  readonly task: T[K];
  /** The nodes whose success this one waits for. */
  readonly after?: readonly (keyof T & string)[];
  /**
   * The input, or a mapping from the upstream results to it. The mapping runs once, when the
   * workflow is defined, on placeholders: it may place upstream results (or parts of them) in
   * the input, not compute with them.
   */
  readonly input: InferTaskInput<T[K]> | ((upstream: UpstreamResults<T, A, K>) => InferTaskInput<T[K]>);
  /** When a dependency did not succeed: `'fail'` this node too, or `'skip'` it. @default the workflow's */
  readonly onUpstreamFailure?: UpstreamFailure;
  readonly queue?: string;
  readonly priority?: number;
}

/** Options of {@link workflow}. */
export interface WorkflowOptions {
  /** The default of every node's `onUpstreamFailure`. @default 'fail' */
  readonly onUpstreamFailure?: UpstreamFailure;
}

/** A node as the definition keeps it at runtime: its contract and its captured input. */
export interface DefinedNode {
  readonly contract: AnyTaskContract;
  readonly after: readonly string[];
  readonly input: unknown;
  readonly onUpstreamFailure: UpstreamFailure;
  readonly queue: string | undefined;
  readonly priority: number | undefined;
}

/** The typed results of a workflow, one per node. */
export type WorkflowResults<T extends Record<string, AnyTaskContract>> = {
  readonly [K in keyof T]: InferTaskOutput<T[K]>;
};

/** A workflow definition: checked, its inputs captured; start it as many times as you like. */
export interface Workflow<T extends Record<string, AnyTaskContract>> {
  readonly nodes: Readonly<Record<keyof T & string, DefinedNode>>;
  /** Nodes in an order where each comes after its dependencies. */
  readonly order: readonly (keyof T & string)[];
  /** Stores the workflow's state and publishes its first nodes; see {@link WorkflowStartOptions}. */
  start(client: Client, options: WorkflowStartOptions): Promise<WorkflowRun<T>>;
}

/** Options of {@link step}: a node's `after`, policy and routing. */
export interface StepOptions<TAfter extends string> {
  readonly after?: readonly TAfter[];
  readonly onUpstreamFailure?: UpstreamFailure;
  readonly queue?: string;
  readonly priority?: number;
}

/**
 * A node with a fixed input, `step(fetch, { url })`. A node whose input comes from upstream
 * results is written as an object, `{ task, after, input: (upstream) => … }`, so the results are
 * typed from the workflow.
 */
export function step<T extends AnyTaskContract>(
  task: T,
  input: InferTaskInput<T>,
): { readonly task: T; readonly input: InferTaskInput<T> };
/** A node with a fixed input, run after other nodes (for order, not for their results). */
export function step<T extends AnyTaskContract, const TAfter extends string>(
  task: T,
  input: InferTaskInput<T>,
  options: StepOptions<TAfter>,
): { readonly task: T; readonly input: InferTaskInput<T> } & StepOptions<TAfter>;
export function step(
  task: AnyTaskContract,
  input: unknown,
  options: StepOptions<string> = {},
): { readonly task: AnyTaskContract; readonly input: unknown } & StepOptions<string> {
  return { ...options, task, input };
}

/** Orders the nodes so each comes after its dependencies; names the nodes of a cycle otherwise. */
function topologicalOrder(nodes: Readonly<Record<string, { readonly after: readonly string[] }>>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name].join(' → ');
      throw new ConfigError(`workflow has a cycle: ${cycle}`);
    }
    state.set(name, 'visiting');
    for (const dep of nodes[name]?.after ?? []) visit(dep, [...path, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of Object.keys(nodes)) visit(name, []);
  return order;
}

/**
 * A typed DAG of tasks: each node runs when every node in its `after` succeeded, with an input
 * placed from their results; a node whose dependency failed fails or is skipped, per its policy.
 * Cycles and unknown dependencies are a `ConfigError` here (and a type error for literal
 * definitions). State lives in the result backend and moves by atomic transitions, so a worker
 * killed anywhere loses nothing and no node completes twice.
 *
 * @example
 * ```ts
 * const wf = workflow({
 *   fetch: { task: fetchPage, input: { url } },
 *   parse: { task: parsePage, after: ['fetch'], input: ({ fetch }) => ({ html: fetch.body }) },
 *   count: { task: countWords, after: ['parse'], input: ({ parse }) => ({ text: parse.text }) },
 * });
 * const run = await wf.start(client, { store: backend });
 * const { count } = await run.result(); // typed per node
 * ```
 */
export function workflow<const T extends Record<string, AnyTaskContract>, const A>(
  nodes: { readonly [K in keyof T]: WorkflowNode<T, A, K> } & {
    readonly [K in keyof A]: { readonly after?: readonly A[K][] };
  } & ([Cyclic<Edges<A>>] extends [never] ? unknown : WorkflowCycle<Cyclic<Edges<A>>>),
  options: WorkflowOptions = {},
): Workflow<T> {
  const entries = Object.entries(nodes as Record<string, WorkflowNode<T, A, keyof T>>);
  if (entries.length === 0) throw new ConfigError('a workflow needs at least one node');
  const defined: Record<string, DefinedNode> = {};
  for (const [name, node] of entries) {
    const after = [...new Set(node.after ?? [])] as string[];
    for (const dep of after)
      if (!(dep in nodes))
        throw new ConfigError(`workflow node ${name} runs after ${dep}, which is not a node`);
    if (typeof node.task?.name !== 'string')
      throw new ConfigError(`workflow node ${name} has no task contract`);
    const input =
      typeof node.input === 'function'
        ? captureInput(name, node.input as (deps: Record<string, unknown>) => unknown, after)
        : captureInput(name, () => node.input, []);
    for (const ref of refsOf(input))
      if (!after.includes(ref))
        throw new ConfigError(`workflow node ${name} uses ${ref}, which is not in its after list`);
    defined[name] = {
      contract: node.task,
      after,
      input,
      onUpstreamFailure: node.onUpstreamFailure ?? options.onUpstreamFailure ?? 'fail',
      queue: node.queue ?? node.task.defaults.queue,
      priority: node.priority ?? node.task.defaults.priority,
    };
  }
  const order = topologicalOrder(defined) as (keyof T & string)[];
  const wf: Workflow<T> = {
    nodes: defined as Record<keyof T & string, DefinedNode>,
    order,
    start: (client, startOptions) => startWorkflow(client, wf, startOptions),
  };
  return wf;
}

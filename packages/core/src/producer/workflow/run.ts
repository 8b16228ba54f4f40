import { randomUUID } from 'node:crypto';
import { kindOf as kindOfCanvas } from '../../canvas-shape.js';
import type { AnyTaskContract, InferTaskOutput } from '../../contract.js';
import { ConfigError } from '../../errors.js';
import { inputToCall } from '../../input-mapping.js';
import { DEFAULT_QUEUE, type Signature } from '../../message.js';
import { type AnySchema, type StandardSchemaV1, validate } from '../../schema.js';
import {
  nodeSignature,
  nodeTaskId,
  WORKFLOW_TASK,
  type WorkflowDefinitionRecord,
  type WorkflowNodeDefinition,
} from '../../workflow/definition.js';
import { refsOf } from '../../workflow/template.js';
import {
  hasWorkflowStore,
  type WorkflowNodeState,
  type WorkflowStore,
} from '../../workflow/workflow-store.js';
import type { Client } from '../client.js';
import type { ResultOptions, TaskHandle } from '../result-handle.js';
import { compileWorkflow } from './compile.js';
import type { Workflow, WorkflowResults } from './define.js';

/** Options of `workflow.start`. */
export interface WorkflowStartOptions {
  /** Where the workflow's state lives: the result backend the workers use (it keeps workflows). */
  readonly store: WorkflowStore;
  /** The workflow id (and the id its result is stored under). Starting an id twice starts it once. @default a new UUID */
  readonly id?: string;
  /** The queue of the driver tasks that move the workflow on; a TypeScript worker must consume it. @default 'celery' */
  readonly driverQueue?: string;
  /** How long the workflow's state is kept. @default 1 day */
  readonly ttlMs?: number;
  /**
   * `'driver'`: state in the store, moved on by the driver tasks (any graph, both policies).
   * `'canvas'`: sent as one Celery canvas (chain, group, chord), which any Celery worker runs and
   * any Celery client reads, with no driver and no stored state: only for graphs Celery can express
   * (see `compileWorkflow`), else a `ConfigError`. `'auto'`: a canvas when it can be one.
   * @default 'driver'
   */
  readonly mode?: 'driver' | 'canvas' | 'auto';
}

/** Where a workflow is: not known (yet, or any more), running, or finished. */
export interface WorkflowStatus<TNode extends string> {
  readonly state: 'PENDING' | 'RUNNING' | 'SUCCESS' | 'FAILURE';
  readonly nodes: Readonly<Record<TNode, WorkflowNodeState>>;
}

/** A started workflow. */
export interface WorkflowRun<T extends Record<string, AnyTaskContract>> {
  readonly id: string;
  /** A typed handle per node (its task id is fixed when the workflow starts). */
  readonly nodes: { readonly [K in keyof T]: TaskHandle<InferTaskOutput<T[K]>> };
  status(): Promise<WorkflowStatus<keyof T & string>>;
  /**
   * Waits for every node and returns their results, each validated by its contract's output
   * schema; rejects with `RemoteTaskError` (`WorkflowFailed`, naming the nodes) when one failed or
   * was skipped.
   */
  result(options?: ResultOptions): Promise<WorkflowResults<T>>;
}

/** The results object, each node's value parsed by its contract's output schema. */
function resultsSchema(wf: Workflow<Record<string, AnyTaskContract>>): AnySchema {
  const schema: StandardSchemaV1<Record<string, unknown>, Record<string, unknown>> = {
    '~standard': {
      version: 1,
      vendor: 'celeriac',
      async validate(value) {
        if (typeof value !== 'object' || value === null)
          return { issues: [{ message: 'expected the node results' }] };
        const out: Record<string, unknown> = {};
        for (const [name, node] of Object.entries(wf.nodes)) {
          const r = await node.contract.output['~standard'].validate(
            (value as Record<string, unknown>)[name],
          );
          if (r.issues) return { issues: r.issues.map((i) => ({ ...i, path: [name, ...(i.path ?? [])] })) };
          out[name] = r.value;
        }
        return { value: out };
      },
    },
  };
  return schema as AnySchema;
}

/** What the store keeps of a workflow: JSON only, for whichever worker drives it. */
function recordOf(
  id: string,
  wf: Workflow<Record<string, AnyTaskContract>>,
  driverQueue: string,
): WorkflowDefinitionRecord {
  const nodes: Record<string, WorkflowNodeDefinition> = {};
  for (const name of wf.order) {
    const n = wf.nodes[name];
    if (!n) continue;
    nodes[name] = {
      task: n.contract.name,
      taskId: nodeTaskId(id, name),
      after: n.after,
      onUpstreamFailure: n.onUpstreamFailure,
      input: n.input,
      // As `inputToCall`: an object input as kwargs, when the contract describes an object.
      call: n.contract.argNames !== undefined ? 'kwargs' : 'arg',
      ...(n.queue !== undefined ? { queue: n.queue } : {}),
      ...(n.priority !== undefined ? { priority: n.priority } : {}),
    };
  }
  return { id, driverQueue, nodes };
}

/**
 * Starts a workflow: checks the fixed inputs of its first nodes, stores its state, and publishes
 * the nodes with no dependencies; the driver tasks do the rest as nodes finish.
 */
export async function startWorkflow<T extends Record<string, AnyTaskContract>>(
  client: Client,
  wf: Workflow<T>,
  options: WorkflowStartOptions,
): Promise<WorkflowRun<T>> {
  const { store } = options;
  const id = options.id ?? randomUUID();
  if (options.mode === 'canvas' || options.mode === 'auto') {
    const canvas = compileWorkflow(id, wf.nodes, wf.order);
    if (canvas) return startCanvas(client, wf, id, canvas);
    if (options.mode === 'canvas')
      throw new ConfigError(
        'this workflow is not a Celery canvas (see compileWorkflow); start it with the driver',
      );
  }
  if (!hasWorkflowStore(store))
    throw new ConfigError(
      'workflow.start needs a store that keeps workflows (the memory or Redis result backend)',
    );
  const general = wf as unknown as Workflow<Record<string, AnyTaskContract>>;
  const record = recordOf(id, general, options.driverQueue ?? DEFAULT_QUEUE);
  const roots = wf.order.filter((name) => wf.nodes[name].after.length === 0);
  // The first nodes' inputs are complete now: checked before anything is stored or sent.
  for (const name of roots) {
    const node = wf.nodes[name];
    if (refsOf(node.input).size === 0)
      await validate(node.contract.input, node.input, node.contract.name, 'input');
  }
  const links = wf.order.map((name) => ({
    name,
    after: wf.nodes[name].after,
    onUpstreamFailure: wf.nodes[name].onUpstreamFailure,
  }));
  await store.createWorkflow(id, JSON.stringify(record), links, options.ttlMs);
  // Published even when the id existed: a start that died before publishing is finished by the
  // next one, and nodes already published carry the same ids, so their copies are skipped.
  for (const name of roots) {
    const node = wf.nodes[name];
    const sig = nodeSignature(record, name, node.input);
    await client.send(sig.task, inputToCall(node.contract, node.input), {
      taskId: sig.options.task_id as string,
      rootId: id,
      ...(node.queue !== undefined ? { queue: node.queue } : {}),
      ...(node.priority !== undefined ? { priority: node.priority } : {}),
      link: sig.options.link as never,
      linkError: sig.options.link_error as never,
    });
  }
  const handles = Object.fromEntries(
    wf.order.map((name) => [name, client.handle(wf.nodes[name].contract, nodeTaskId(id, name))]),
  ) as WorkflowRun<T>['nodes'];
  const overall = client.handle(
    {
      name: WORKFLOW_TASK,
      input: resultsSchema(general),
      output: resultsSchema(general),
      defaults: {},
      argNames: undefined,
    },
    id,
  );
  return {
    id,
    nodes: handles,
    async status() {
      const snapshot = await store.getWorkflow(id);
      const nodes = Object.fromEntries(
        wf.order.map((name) => [name, snapshot?.nodes[name]?.state ?? 'PENDING']),
      ) as Record<keyof T & string, WorkflowNodeState>;
      const states = Object.values<WorkflowNodeState>(nodes);
      const state = !snapshot
        ? 'PENDING'
        : states.every((s) => s === 'SUCCESS')
          ? 'SUCCESS'
          : states.every((s) => s !== 'PENDING' && s !== 'READY')
            ? 'FAILURE'
            : 'RUNNING';
      return { state, nodes };
    },
    result: (resultOptions) => overall.result(resultOptions) as Promise<WorkflowResults<T>>,
  };
}

const CANVAS_STATES: Readonly<Record<string, WorkflowNodeState>> = {
  SUCCESS: 'SUCCESS',
  FAILURE: 'FAILURE',
  REVOKED: 'FAILURE',
  STARTED: 'READY',
  RECEIVED: 'READY',
  RETRY: 'READY',
};

/** A workflow sent as one canvas: its state is its nodes' results, read from the backend. */
async function startCanvas<T extends Record<string, AnyTaskContract>>(
  client: Client,
  wf: Workflow<T>,
  id: string,
  canvas: Signature,
): Promise<WorkflowRun<T>> {
  if (kindOfCanvas(canvas) === 'chain')
    await client.chain(canvas.kwargs.tasks as [Signature, ...Signature[]] as never);
  else if (kindOfCanvas(canvas) === 'group') await client.group(canvas.kwargs.tasks as Signature[]);
  else await client.chain([canvas] as never);
  const handles = Object.fromEntries(
    wf.order.map((name) => [name, client.handle(wf.nodes[name].contract, nodeTaskId(id, name))]),
  ) as WorkflowRun<T>['nodes'];
  const all = () => wf.order.map((name) => [name, handles[name]] as const);
  return {
    id,
    nodes: handles,
    async status() {
      const states = await Promise.all(
        all().map(async ([name, h]) => [name, CANVAS_STATES[(await h.status()).state] ?? 'PENDING'] as const),
      );
      const nodes = Object.fromEntries(states) as Record<keyof T & string, WorkflowNodeState>;
      const values = Object.values<WorkflowNodeState>(nodes);
      const state = values.every((s) => s === 'SUCCESS')
        ? 'SUCCESS'
        : values.some((s) => s === 'FAILURE')
          ? 'FAILURE'
          : values.every((s) => s === 'PENDING')
            ? 'PENDING'
            : 'RUNNING';
      return { state, nodes };
    },
    async result(resultOptions) {
      const values = await Promise.all(
        all().map(async ([name, h]) => [name, await h.result(resultOptions)] as const),
      );
      return Object.fromEntries(values) as WorkflowResults<T>;
    },
  };
}

import type { OutgoingMessage } from '../broker.js';
import { derivedId } from '../derived-id.js';
import type { Signature } from '../message.js';
import { messageFromSignature } from '../signature-message.js';
import type { UpstreamFailure } from './workflow-store.js';

/** The driver task a node's success calls (a Celery `link`): `(result, workflowId, node)`. */
export const ADVANCE_TASK = 'celeriac.workflow.advance';
/** The driver task a node's failure calls (a Celery `link_error`): `(failedTaskId, workflowId, node)`. */
export const FAILED_TASK = 'celeriac.workflow.failed';
/** The task name a workflow's own result is stored under (its id is the workflow id). */
export const WORKFLOW_TASK = 'celeriac.workflow';

/** One node as stored with its workflow: JSON only, read by whichever worker drives it. */
export interface WorkflowNodeDefinition {
  readonly task: string;
  readonly taskId: string;
  readonly after: readonly string[];
  readonly onUpstreamFailure: UpstreamFailure;
  /** The input, with references to upstream results (see `template.ts`). */
  readonly input: unknown;
  /** An object input travels as kwargs, anything else as the one positional argument. */
  readonly call: 'kwargs' | 'arg';
  readonly queue?: string;
  readonly priority?: number;
}

/** A workflow's definition as stored: what the driver needs to publish each node. */
export interface WorkflowDefinitionRecord {
  readonly id: string;
  /** Where the driver tasks go: a TypeScript worker must consume it. */
  readonly driverQueue: string;
  readonly nodes: Readonly<Record<string, WorkflowNodeDefinition>>;
}

/** The deterministic task id of a node of a workflow, so republishing it is idempotent. */
export function nodeTaskId(workflowId: string, node: string): string {
  return derivedId(`workflow:${workflowId}:node:${node}`);
}

function driverSignature(record: WorkflowDefinitionRecord, node: string, task: string): Signature {
  return {
    task,
    args: [record.id, node],
    kwargs: {},
    // Fixed ids: a node run twice (a crash between its success and its ack) calls the driver with
    // the same id, and the second call is skipped or changes nothing.
    options: { task_id: derivedId(`workflow:${record.id}:${task}:${node}`), queue: record.driverQueue },
    subtask_type: null,
    immutable: false,
  };
}

/**
 * A node of a workflow as a Celery call: its resolved input as args or kwargs, its fixed task id,
 * and the driver tasks as its `link` and `link_error`, so the next nodes are published when it
 * finishes, whichever worker (TypeScript or Python) runs it.
 */
export function nodeSignature(record: WorkflowDefinitionRecord, node: string, input: unknown): Signature {
  const def = record.nodes[node] as WorkflowNodeDefinition;
  return {
    task: def.task,
    args: def.call === 'arg' ? (input === undefined ? [] : [input]) : [],
    kwargs: def.call === 'kwargs' ? { ...(input as Record<string, unknown>) } : {},
    options: {
      task_id: def.taskId,
      ...(def.queue ? { queue: def.queue } : {}),
      ...(def.priority !== undefined ? { priority: def.priority } : {}),
      link: [driverSignature(record, node, ADVANCE_TASK)],
      link_error: [driverSignature(record, node, FAILED_TASK)],
    },
    subtask_type: null,
    immutable: true,
  };
}

/** A node's message, as the driver publishes it (its parent is the node that made it runnable). */
export function nodeMessage(
  record: WorkflowDefinitionRecord,
  node: string,
  input: unknown,
  parentId: string,
): OutgoingMessage {
  return messageFromSignature(nodeSignature(record, node, input), [], { id: parentId, rootId: record.id });
}

/** A node's state in a workflow: waiting on dependencies, runnable (published), or final. */
export type WorkflowNodeState = 'PENDING' | 'READY' | 'SUCCESS' | 'FAILURE' | 'SKIPPED';

/** What a node does when one of its dependencies did not succeed. */
export type UpstreamFailure = 'fail' | 'skip';

/** A node's place in the graph, as the store needs it for its transitions. */
export interface WorkflowNodeLinks {
  readonly name: string;
  readonly after: readonly string[];
  readonly onUpstreamFailure: UpstreamFailure;
}

/** What one recorded outcome changed (and, for a repeated call, what it had changed). */
export interface WorkflowTransition {
  /** False when this node's outcome was recorded before (a redelivered driver message). */
  readonly recorded: boolean;
  /** Nodes this outcome made runnable (every dependency succeeded), still not finished. */
  readonly ready: readonly string[];
  /** Nodes that will never run because of this outcome, with the state they were given. */
  readonly settled: readonly { readonly node: string; readonly state: 'FAILURE' | 'SKIPPED' }[];
  /** Every node is final. */
  readonly finished: boolean;
}

/** A workflow as stored: its definition (opaque JSON) and each node's state and result. */
export interface WorkflowSnapshot {
  /** The definition the producer wrote, as written. */
  readonly definition: string;
  readonly nodes: Readonly<
    Record<string, { readonly state: WorkflowNodeState; readonly result: string | null }>
  >;
}

/**
 * Where a workflow's state lives, with atomic transitions (the in-memory and Redis result backends
 * are ones): recording a node's outcome, finding what it made runnable, and settling what can no
 * longer run happen in one step, so a driver killed at any point loses nothing, and a repeated call
 * (a redelivery) changes nothing and answers what the first one did.
 */
export interface WorkflowStore {
  /**
   * Creates a workflow whose `roots` start READY and every other node PENDING. Resolves false (and
   * changes nothing) when the id exists.
   */
  createWorkflow(
    id: string,
    definition: string,
    nodes: readonly WorkflowNodeLinks[],
    ttlMs?: number,
  ): Promise<boolean>;
  /**
   * Records a node's outcome (`result` is JSON text, kept as it is) and applies it: dependents whose
   * dependencies all succeeded become READY; those with a failed or skipped dependency become
   * FAILURE or SKIPPED per their policy, and so on down the graph. `null` for an unknown workflow.
   */
  completeWorkflowNode(
    id: string,
    node: string,
    state: 'SUCCESS' | 'FAILURE',
    result: string,
  ): Promise<WorkflowTransition | null>;
  /** The workflow's definition and node states; `null` when unknown (or expired). */
  getWorkflow(id: string): Promise<WorkflowSnapshot | null>;
}

/** Whether a backend (or anything) keeps workflows. */
export function hasWorkflowStore(value: unknown): value is WorkflowStore {
  const v = value as Partial<WorkflowStore> | null | undefined;
  return (
    typeof v?.createWorkflow === 'function' &&
    typeof v.completeWorkflowNode === 'function' &&
    typeof v.getWorkflow === 'function'
  );
}

import type {
  UpstreamFailure,
  WorkflowNodeLinks,
  WorkflowNodeState,
  WorkflowSnapshot,
  WorkflowStore,
  WorkflowTransition,
} from '../workflow/workflow-store.js';
import { liveEntry } from './live-entry.js';

interface Node {
  readonly after: readonly string[];
  readonly dependents: string[];
  readonly policy: UpstreamFailure;
  state: WorkflowNodeState;
  result: string | null;
  /** The node whose success made this one READY. */
  by: string | null;
  /** The failed node that settled this one (FAILURE or SKIPPED) without running it. */
  cause: string | null;
}

interface Workflow {
  readonly definition: string;
  readonly nodes: Map<string, Node>;
  final: number;
  readonly expiresAt: number;
}

/**
 * Workflows in memory, for workers and producers in one process. Each method runs to completion
 * before the next, so every transition is atomic; the Redis backend does the same in one script.
 */
export class MemoryWorkflowStore implements WorkflowStore {
  private readonly workflows = new Map<string, Workflow>();

  private read(id: string): Workflow | undefined {
    return liveEntry(this.workflows, id);
  }

  async createWorkflow(
    id: string,
    definition: string,
    links: readonly WorkflowNodeLinks[],
    ttlMs = 86_400_000,
  ): Promise<boolean> {
    if (this.read(id)) return false;
    const nodes = new Map<string, Node>();
    for (const l of links) {
      nodes.set(l.name, {
        after: [...l.after],
        dependents: [],
        policy: l.onUpstreamFailure,
        state: l.after.length === 0 ? 'READY' : 'PENDING',
        result: null,
        by: null,
        cause: null,
      });
    }
    for (const l of links) for (const a of l.after) nodes.get(a)?.dependents.push(l.name);
    this.workflows.set(id, {
      definition,
      nodes,
      final: 0,
      expiresAt: ttlMs > 0 ? Date.now() + ttlMs : Infinity,
    });
    return true;
  }

  async completeWorkflowNode(
    id: string,
    name: string,
    state: 'SUCCESS' | 'FAILURE',
    result: string,
  ): Promise<WorkflowTransition | null> {
    const wf = this.read(id);
    const node = wf?.nodes.get(name);
    if (!wf || !node) return null;
    const recorded = node.state === 'PENDING' || node.state === 'READY';
    if (recorded) {
      node.state = state;
      node.result = result;
      wf.final += 1;
      if (state === 'SUCCESS') {
        for (const d of node.dependents) {
          const dep = wf.nodes.get(d) as Node;
          if (dep.state === 'PENDING' && dep.after.every((a) => wf.nodes.get(a)?.state === 'SUCCESS')) {
            dep.state = 'READY';
            dep.by = name;
          }
        }
      } else {
        // Down the graph: whatever waits on a node that will not succeed is settled by its policy.
        const queue = [name];
        for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
          for (const d of wf.nodes.get(n)?.dependents ?? []) {
            const dep = wf.nodes.get(d) as Node;
            if (dep.state !== 'PENDING') continue;
            dep.state = dep.policy === 'skip' ? 'SKIPPED' : 'FAILURE';
            dep.cause = name;
            wf.final += 1;
            queue.push(d);
          }
        }
      }
    }
    const ready = node.dependents.filter((d) => {
      const dep = wf.nodes.get(d) as Node;
      return dep.by === name && dep.state === 'READY';
    });
    const settled: { node: string; state: 'FAILURE' | 'SKIPPED' }[] = [];
    for (const [n, dep] of wf.nodes)
      if (dep.cause === name) settled.push({ node: n, state: dep.state as 'FAILURE' | 'SKIPPED' });
    return { recorded, ready, settled, finished: wf.final === wf.nodes.size };
  }

  async getWorkflow(id: string): Promise<WorkflowSnapshot | null> {
    const wf = this.read(id);
    if (!wf) return null;
    const nodes: Record<string, { state: WorkflowNodeState; result: string | null }> = {};
    for (const [n, node] of wf.nodes) nodes[n] = { state: node.state, result: node.result };
    return { definition: wf.definition, nodes };
  }
}

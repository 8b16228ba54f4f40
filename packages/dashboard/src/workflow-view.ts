import type { WorkflowSnapshot } from '@celeriac/core/adapter';

/** One node of a workflow as the page draws it. */
export interface WorkflowNodeView {
  readonly name: string;
  readonly task: string;
  readonly taskId: string | null;
  readonly after: readonly string[];
  readonly state: string;
  /** Its column: the longest path of dependencies before it. */
  readonly depth: number;
}

/** A workflow as the page draws it: its nodes in columns, and its overall state. */
export interface WorkflowView {
  readonly id: string;
  readonly state: 'RUNNING' | 'SUCCESS' | 'FAILURE';
  readonly nodes: readonly WorkflowNodeView[];
}

/** The stored definition as far as the page reads it; anything else in it is ignored. */
function definedNodes(
  definition: string,
): Record<string, { task?: unknown; taskId?: unknown; after?: unknown }> {
  try {
    const parsed = JSON.parse(definition) as { nodes?: unknown };
    return typeof parsed.nodes === 'object' && parsed.nodes !== null
      ? (parsed.nodes as Record<string, { task?: unknown; taskId?: unknown; after?: unknown }>)
      : {};
  } catch {
    return {};
  }
}

/** A stored workflow as the page draws it: each node's task, dependencies, state and column. */
export function workflowView(id: string, snapshot: WorkflowSnapshot): WorkflowView {
  const defined = definedNodes(snapshot.definition);
  const names = Object.keys(snapshot.nodes);
  const afterOf = (name: string): string[] => {
    const after = defined[name]?.after;
    return Array.isArray(after)
      ? after.filter((a): a is string => typeof a === 'string' && a in snapshot.nodes)
      : [];
  };
  const depths = new Map<string, number>();
  // The graph is acyclic (checked when it was defined); the guard only bounds a corrupt record.
  const depthOf = (name: string, guard = 0): number => {
    const known = depths.get(name);
    if (known !== undefined) return known;
    const d = guard > names.length ? 0 : Math.max(-1, ...afterOf(name).map((a) => depthOf(a, guard + 1))) + 1;
    depths.set(name, d);
    return d;
  };
  const nodes = names.map((name) => {
    const def = defined[name];
    return {
      name,
      task: typeof def?.task === 'string' ? def.task : '?',
      taskId: typeof def?.taskId === 'string' ? def.taskId : null,
      after: afterOf(name),
      state: snapshot.nodes[name]?.state ?? 'PENDING',
      depth: depthOf(name),
    };
  });
  const states = nodes.map((n) => n.state);
  const state = states.every((s) => s === 'SUCCESS')
    ? 'SUCCESS'
    : states.every((s) => s !== 'PENDING' && s !== 'READY')
      ? 'FAILURE'
      : 'RUNNING';
  return { id, state, nodes: nodes.sort((a, b) => a.depth - b.depth || a.name.localeCompare(b.name)) };
}

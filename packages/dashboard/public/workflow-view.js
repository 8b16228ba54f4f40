// One workflow (a typed DAG): its nodes in columns by dependency depth, each with its state and a
// link to its task, and what it waits on.
import { useEffect, useState } from 'preact/hooks';
import { getJson } from './api.js';
import { html } from './html.js';
import { StateBadge } from './tasks-view.js';

function Lookup({ id }) {
  const [value, setValue] = useState(id ?? '');
  const go = (e) => {
    e.preventDefault();
    if (value.trim()) location.hash = `#/workflows/${encodeURIComponent(value.trim())}`;
  };
  return html`<form class="search" onSubmit=${go}>
    <input type="search" placeholder="workflow id" value=${value} onInput=${(e) => setValue(e.target.value)}
      data-testid="workflow-id" />
    <button type="submit">Show</button>
  </form>`;
}

export function WorkflowView({ id, snapshot }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (!id) return;
    getJson(`/api/workflows/${encodeURIComponent(id)}`).then(
      (r) => {
        setData(r);
        setError(null);
      },
      (e) => setError(e.message),
    );
  }, [id, snapshot?.at]);
  if (!id)
    return html`<div><${Lookup} /><p class="muted">A workflow's id is the id <code>workflow.start</code> returned.</p></div>`;
  const columns = [];
  for (const node of data?.nodes ?? []) {
    columns[node.depth] = columns[node.depth] ?? [];
    columns[node.depth].push(node);
  }
  return html`<div>
    <${Lookup} id=${id} />
    ${error && html`<p class="error">${error}</p>`}
    ${
      data &&
      html`<article data-testid="workflow">
      <h2 class="mono">${data.id} <${StateBadge} state=${data.state} /></h2>
      <div class="dag">
        ${columns.map(
          (nodes, depth) => html`<div class="dag-column" key=${depth}>
            ${nodes.map(
              (
                n,
              ) => html`<div class="dag-node" data-testid="workflow-node" data-node=${n.name} data-state=${n.state}>
                <div><strong>${n.name}</strong> <${StateBadge} state=${n.state} /></div>
                <div class="mono muted">${n.task}</div>
                ${n.after.length > 0 && html`<div class="muted">after ${n.after.join(', ')}</div>`}
                ${n.taskId && html`<a href=${`#/tasks/${encodeURIComponent(n.taskId)}`}>task</a>`}
              </div>`,
            )}
          </div>`,
        )}
      </div>
    </article>`
    }
  </div>`;
}

// One task: what the events said (timeline, args, outcome) and what the result backend holds.
import { useEffect, useState } from 'preact/hooks';
import { act, getJson } from './api.js';
import { seconds } from './format.js';
import { html } from './html.js';
import { StateBadge } from './tasks-view.js';

const READY = new Set(['SUCCESS', 'FAILURE', 'REVOKED', 'REJECTED']);

function Field({ label, children }) {
  return html`<div class="field"><dt>${label}</dt><dd>${children ?? '—'}</dd></div>`;
}

export function TaskView({ id, snapshot }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(null);
  useEffect(() => {
    getJson(`/api/tasks/${encodeURIComponent(id)}`).then(
      (r) => {
        setData(r);
        setError(null);
      },
      (e) => setError(e.message),
    );
  }, [id, snapshot?.at]);
  // A node of a workflow: its root is the workflow, whose page draws the graph around it.
  const rootId = data?.task?.rootId;
  const [workflow, setWorkflow] = useState(null);
  useEffect(() => {
    if (!rootId || rootId === id) return;
    getJson(`/api/workflows/${encodeURIComponent(rootId)}`).then(setWorkflow, () => setWorkflow(null));
  }, [id, rootId]);
  if (error && !data) return html`<p class="error">${error}</p>`;
  if (!data) return html`<p class="loading">Loading…</p>`;
  const { task, meta } = data;
  const state =
    meta?.status && READY.has(meta.status) ? meta.status : (task?.state ?? meta?.status ?? 'PENDING');
  const revoke = (terminate) =>
    act(`/api/tasks/${encodeURIComponent(id)}/revoke`, { terminate }).then(
      (r) => setNotice(r.stored ? 'Revoked: workers will skip it.' : 'Already finished: nothing to revoke.'),
      (e) => setNotice(e.message),
    );
  const traceback = meta?.traceback ?? task?.traceback;
  return html`<article class="task" data-testid="task-detail">
    <h2 class="mono">${id}</h2>
    <dl>
      <${Field} label="Name">${task?.name ?? meta?.name}<//>
      <${Field} label="State"><${StateBadge} state=${state} /><//>
      <${Field} label="Worker">${task?.hostname ?? meta?.worker}<//>
      <${Field} label="Queue">${task?.queue ?? meta?.queue}<//>
      ${
        workflow &&
        html`<${Field} label="Workflow"><a href=${`#/workflows/${encodeURIComponent(workflow.id)}`}
        data-testid="task-workflow" class="mono">${workflow.id}</a><//>`
      }
      <${Field} label="Retries">${task?.retries ?? meta?.retries}<//>
      <${Field} label="Run time">${seconds(task?.runtime)}<//>
      <${Field} label="Args"><code>${task?.args ?? JSON.stringify(meta?.args ?? null)}</code><//>
      <${Field} label="Kwargs"><code>${task?.kwargs ?? JSON.stringify(meta?.kwargs ?? null)}</code><//>
      <${Field} label="Result"><code data-testid="task-result">${
        meta?.status === 'SUCCESS' ? JSON.stringify(meta.result) : task?.result
      }</code><//>
      <${Field} label="Error"><code>${task?.exception ?? (meta && meta.status !== 'SUCCESS' ? JSON.stringify(meta.result) : null)}</code><//>
      <${Field} label="Parent / root"><span class="mono">${task?.parentId ?? '—'} / ${task?.rootId ?? '—'}</span><//>
    </dl>
    ${traceback && html`<h3>Traceback</h3><pre class="traceback">${traceback}</pre>`}
    <h3>Timeline</h3>
    <ol class="timeline" data-testid="timeline">
      ${(task?.timeline ?? []).map(
        (t) =>
          html`<li><${StateBadge} state=${t.state} /> ${new Date(t.at).toLocaleTimeString()} <span class="mono muted">${t.hostname}</span></li>`,
      )}
    </ol>
    <div class="actions">
      <button onClick=${() => revoke(false)} disabled=${READY.has(state)} data-testid="revoke">Revoke</button>
      <button onClick=${() => revoke(true)} disabled=${READY.has(state)} title="Needs the control plane">Terminate</button>
      ${notice && html`<span class="notice">${notice}</span>`}
    </div>
  </article>`;
}

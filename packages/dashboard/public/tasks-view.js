// The tasks page: search by id, name and state; newest first.
import { useEffect, useState } from 'preact/hooks';
import { getJson } from './api.js';
import { seconds, time } from './format.js';
import { html } from './html.js';

const STATES = ['', 'PENDING', 'RECEIVED', 'STARTED', 'RETRY', 'SUCCESS', 'FAILURE', 'REVOKED', 'REJECTED'];

export function StateBadge({ state }) {
  return html`<span class=${`badge ${state}`} data-testid="state">${state}</span>`;
}

export function TaskTable({ tasks }) {
  if (tasks.length === 0) return html`<p class="empty">No task matches.</p>`;
  return html`<table data-testid="tasks">
    <thead><tr><th>Task id</th><th>Name</th><th>State</th><th>Worker</th><th>Received</th><th>Run time</th></tr></thead>
    <tbody>
      ${tasks.map(
        (t) => html`<tr key=${t.uuid} data-testid="task-row">
          <td class="mono"><a href=${`#/tasks/${t.uuid}`}>${t.uuid}</a></td>
          <td class="mono">${t.name ?? '—'}</td>
          <td><${StateBadge} state=${t.state} /></td>
          <td class="mono">${t.hostname ?? '—'}</td>
          <td>${time(t.received)}</td>
          <td>${seconds(t.runtime)}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

export function TasksView({ snapshot }) {
  const [q, setQ] = useState('');
  const [state, setState] = useState('');
  const [found, setFound] = useState(null);
  const [error, setError] = useState(null);
  const searching = q.trim() !== '' || state !== '';
  useEffect(() => {
    if (!searching) return;
    const params = new URLSearchParams({ q, state, limit: '200' });
    getJson(`/api/tasks?${params}`).then(
      (r) => {
        setFound(r.tasks);
        setError(null);
      },
      (e) => setError(e.message),
    );
  }, [q, state, snapshot?.at]);
  const tasks = searching ? (found ?? []) : (snapshot?.recent ?? []);
  const go = (e) => {
    e.preventDefault();
    // A whole id the events never showed may still be in the result backend.
    if (/^[0-9a-f-]{36}$/i.test(q.trim()) && tasks.length === 0) location.hash = `#/tasks/${q.trim()}`;
  };
  return html`<div>
    <form class="search" onSubmit=${go}>
      <input type="search" placeholder="Task id or name" value=${q} onInput=${(e) => setQ(e.target.value)}
        data-testid="task-search" />
      <select value=${state} onChange=${(e) => setState(e.target.value)} data-testid="state-filter">
        ${STATES.map((s) => html`<option value=${s}>${s || 'any state'}</option>`)}
      </select>
    </form>
    ${error && html`<p class="error">${error}</p>`}
    <${TaskTable} tasks=${tasks} />
  </div>`;
}

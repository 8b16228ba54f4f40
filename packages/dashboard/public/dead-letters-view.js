// Dead letters of a queue, and the redrive button that puts them back on it.
import { useEffect, useState } from 'preact/hooks';
import { act, getJson } from './api.js';
import { html } from './html.js';

export function DeadLettersView({ queue, snapshot }) {
  const queues = (snapshot?.queues ?? []).map((q) => q.name);
  const current = queue || queues[0] || 'celery';
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(null);
  const [round, setRound] = useState(0);
  useEffect(() => {
    getJson(`/api/queues/${encodeURIComponent(current)}/dead-letters`).then(
      (r) => {
        setData(r);
        setError(null);
      },
      (e) => setError(e.message),
    );
  }, [current, round]);
  const redrive = () =>
    act(`/api/queues/${encodeURIComponent(current)}/redrive`).then(
      (r) => {
        setNotice(`${r.moved} message${r.moved === 1 ? '' : 's'} put back on ${current}`);
        setRound(round + 1);
      },
      (e) => setNotice(e.message),
    );
  const letters = data?.letters ?? [];
  return html`<div>
    <div class="toolbar">
      <select value=${current} onChange=${(e) => (location.hash = `#/dead-letters/${encodeURIComponent(e.target.value)}`)}>
        ${[...new Set([current, ...queues])].map((q) => html`<option value=${q}>${q}</option>`)}
      </select>
      <button onClick=${() => setRound(round + 1)}>Refresh</button>
      <button onClick=${redrive} disabled=${!data?.redrive || letters.length === 0} data-testid="redrive">
        Redrive all
      </button>
      ${notice && html`<span class="notice" data-testid="redrive-notice">${notice}</span>`}
    </div>
    ${error && html`<p class="error">${error}</p>`}
    ${data && !data.supported && html`<p class="empty">This broker keeps no dead letters.</p>`}
    ${data?.supported && letters.length === 0 && html`<p class="empty" data-testid="no-dead-letters">No dead letters in ${current}.</p>`}
    ${
      letters.length > 0 &&
      html`<table data-testid="dead-letters">
      <thead><tr><th>When</th><th>Reason</th><th>Message</th><th>Task</th></tr></thead>
      <tbody>
        ${letters.map(
          (l, i) => html`<tr key=${i} data-testid="dead-letter-row">
            <td>${new Date(l.at).toLocaleString()}</td>
            <td><span class="badge FAILURE">${l.code}</span></td>
            <td>${l.message}</td>
            <td class="mono">${
              l.taskId ? html`<a href=${`#/tasks/${l.taskId}`}>${l.taskId}</a> ${l.taskName ?? ''}` : '—'
            }</td>
          </tr>`,
        )}
      </tbody>
    </table>`
    }
  </div>`;
}

// The queues page: depth, how long the oldest message may have waited, in/out rates, pause and
// resume, and a way to each queue's dead letters.
import { useState } from 'preact/hooks';
import { act } from './api.js';
import { rate } from './format.js';
import { html } from './html.js';

/** "≤ 12 s", "≤ 3 min": an upper bound of a wait, readable. */
function waited(q) {
  if (q.oldestWaitingMaxMs != null) {
    const s = Math.round(q.oldestWaitingMaxMs / 1000);
    return `≤ ${s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min` : `${Math.floor(s / 3600)} h`}`;
  }
  return q.backlogSinceStart ? 'since before start' : '—';
}

function PauseButton({ queue, paused, onDone }) {
  const [busy, setBusy] = useState(false);
  if (paused == null)
    return html`<span class="muted" title="the result backend keeps no flow state">—</span>`;
  const action = paused ? 'resume' : 'pause';
  const click = () => {
    setBusy(true);
    act(`/api/queues/${encodeURIComponent(queue)}/${action}`)
      .then(
        () => onDone(`${paused ? 'Resumed' : 'Paused'} ${queue} on every worker.`),
        (e) => onDone(e.message, true),
      )
      .finally(() => setBusy(false));
  };
  return html`<button data-testid=${`${action}-${queue}`} disabled=${busy} onClick=${click}>
    ${paused ? 'Resume' : 'Pause'}
  </button>`;
}

export function QueuesView({ snapshot }) {
  const [notice, setNotice] = useState(null);
  const queues = snapshot?.queues ?? [];
  return html`<div>
    ${notice && html`<p class=${notice.error ? 'error' : 'notice'} data-testid="queue-notice">${notice.text}</p>`}
    <table data-testid="queues">
      <thead><tr><th>Queue</th><th>Waiting</th><th>Oldest waiting</th><th>In</th><th>Out</th><th>State</th><th></th><th></th></tr></thead>
      <tbody>
        ${queues.map(
          (q) => html`<tr key=${q.name} data-testid="queue-row" data-queue=${q.name}>
            <td class="mono">${q.name}</td>
            <td>${q.depth ?? '—'}</td>
            <td data-testid="oldest-waiting">${waited(q)}</td>
            <td>${rate(q.inRate)}</td>
            <td>${rate(q.outRate)}</td>
            <td data-testid="queue-state">${
              q.paused == null
                ? '—'
                : html`<span class=${`badge ${q.paused ? 'REVOKED' : 'SUCCESS'}`}>${q.paused ? 'paused' : 'consuming'}</span>`
            }</td>
            <td><${PauseButton} queue=${q.name} paused=${q.paused} onDone=${(text, error) => setNotice({ text, error })} /></td>
            <td><a href=${`#/dead-letters/${encodeURIComponent(q.name)}`}>dead letters</a></td>
          </tr>`,
        )}
      </tbody>
    </table>
    <p class="muted">Out counts messages workers took (from their <code>task-received</code> events); in adds how much
      the queue grew. Rates cover the last 30 s. Oldest waiting is at most the time since the queue was last seen empty
      (brokers do not tell a message's age). Pause stops every worker fetching from the queue within a second; running
      tasks finish. Queues named by events are added as they appear; start the dashboard with <code>--queue</code> to
      watch others.</p>
  </div>`;
}

// The workers page: who is alive, how busy, how much done.
import { ago } from './format.js';
import { html } from './html.js';

function Load({ worker }) {
  if (!worker.concurrency) return html`${worker.active} running`;
  const share = Math.min(1, worker.active / worker.concurrency);
  return html`<span class="load" title=${`${worker.active} of ${worker.concurrency} slots busy`}>
    <span class="bar"><span style=${`width:${(share * 100).toFixed(0)}%`}></span></span>
    ${worker.active}/${worker.concurrency}
  </span>`;
}

export function WorkersView({ snapshot }) {
  const workers = snapshot?.workers ?? [];
  if (workers.length === 0)
    return html`<p class="empty">No worker seen yet. Workers appear once they send events (<code>--events</code>, or
      <code>sendCeleryEvents</code>; <code>celery worker -E</code> for Python).</p>`;
  return html`<table data-testid="workers">
    <thead>
      <tr><th>Worker</th><th>Status</th><th>Heartbeat</th><th>Load</th><th>Load avg</th><th>Processed</th><th>Succeeded</th><th>Failed</th><th>Software</th></tr>
    </thead>
    <tbody>
      ${workers.map(
        (w) => html`<tr key=${w.hostname} data-testid="worker-row">
          <td class="mono">${w.hostname}</td>
          <td><span class=${`badge ${w.alive ? 'SUCCESS' : 'FAILURE'}`}>${w.alive ? 'online' : 'offline'}</span></td>
          <td>${ago(w.lastSeen, snapshot.at)} <span class="muted">every ${w.freq} s</span></td>
          <td><${Load} worker=${w} /></td>
          <td>${w.loadavg.map((l) => l.toFixed(2)).join(' ') || '—'}</td>
          <td>${w.processed}</td>
          <td>${w.succeeded}</td>
          <td>${w.failed}</td>
          <td class="muted">${w.software || '—'}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

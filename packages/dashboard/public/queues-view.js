// The queues page: depth and in/out rates, with a way to each queue's dead letters.
import { rate } from './format.js';
import { html } from './html.js';

export function QueuesView({ snapshot }) {
  const queues = snapshot?.queues ?? [];
  return html`<div>
    <table data-testid="queues">
      <thead><tr><th>Queue</th><th>Waiting</th><th>In</th><th>Out</th><th></th></tr></thead>
      <tbody>
        ${queues.map(
          (q) => html`<tr key=${q.name} data-testid="queue-row">
            <td class="mono">${q.name}</td>
            <td>${q.depth ?? '—'}</td>
            <td>${rate(q.inRate)}</td>
            <td>${rate(q.outRate)}</td>
            <td><a href=${`#/dead-letters/${encodeURIComponent(q.name)}`}>dead letters</a></td>
          </tr>`,
        )}
      </tbody>
    </table>
    <p class="muted">Out counts messages workers took (from their <code>task-received</code> events); in adds how much
      the queue grew. Rates cover the last 30 s. Queues named by events are added as they appear; start the dashboard
      with <code>--queue</code> to watch others.</p>
  </div>`;
}

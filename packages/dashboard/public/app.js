// The dashboard page: a header, the live charts, and one view per hash route.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { liveSnapshots } from './api.js';
import { LatencyChart, ThroughputChart } from './charts.js';
import { DeadLettersView } from './dead-letters-view.js';
import { html } from './html.js';
import { QueuesView } from './queues-view.js';
import { TaskView } from './task-view.js';
import { TasksView } from './tasks-view.js';
import { WorkersView } from './workers-view.js';
import { WorkflowView } from './workflow-view.js';

const TABS = [
  ['workers', 'Workers'],
  ['queues', 'Queues'],
  ['tasks', 'Tasks'],
  ['workflows', 'Workflows'],
  ['dead-letters', 'Dead letters'],
];

function useRoute() {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const [route, setRoute] = useState(read());
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function States({ states }) {
  const order = ['RECEIVED', 'STARTED', 'RETRY', 'SUCCESS', 'FAILURE', 'REVOKED', 'REJECTED'];
  return html`<ul class="states">
    ${order.map((s) => html`<li><span class=${`badge ${s}`}>${s}</span> ${states?.[s] ?? 0}</li>`)}
  </ul>`;
}

function App() {
  const [snapshot, setSnapshot] = useState(null);
  const [live, setLive] = useState(false);
  const [page = 'workers', arg] = useRoute();
  useEffect(() => liveSnapshots(setSnapshot, setLive), []);
  const view =
    page === 'tasks' && arg
      ? html`<${TaskView} id=${arg} snapshot=${snapshot} />`
      : page === 'tasks'
        ? html`<${TasksView} snapshot=${snapshot} />`
        : page === 'queues'
          ? html`<${QueuesView} snapshot=${snapshot} />`
          : page === 'workflows'
            ? html`<${WorkflowView} id=${arg} snapshot=${snapshot} />`
            : page === 'dead-letters'
              ? html`<${DeadLettersView} queue=${arg} snapshot=${snapshot} />`
              : html`<${WorkersView} snapshot=${snapshot} />`;
  return html`<div>
    <header>
      <h1>Celeriac</h1>
      <nav>
        ${TABS.map(([id, label]) => html`<a href=${`#/${id}`} class=${page === id ? 'active' : ''}>${label}</a>`)}
      </nav>
      <span class=${`live ${live ? 'on' : 'off'}`} data-testid="live">${live ? 'live' : 'reconnecting…'}</span>
    </header>
    <main>
      <${States} states=${snapshot?.states} />
      <section class="charts">
        <${ThroughputChart} points=${snapshot?.throughput ?? []} />
        <${LatencyChart} points=${snapshot?.throughput ?? []} />
      </section>
      ${view}
    </main>
  </div>`;
}

const root = document.getElementById('app');
// The server-rendered placeholder goes; the app owns the container from here.
root.textContent = '';
render(html`<${App} />`, root);

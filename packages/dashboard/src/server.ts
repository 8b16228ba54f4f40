import type { Broker, ResultBackend } from '@celeriac/core';
import { flowStoreOf, hasWorkflowStore } from '@celeriac/core/adapter';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { type DashboardControl, pauseQueue, redriveQueue, revokeTask } from './actions.js';
import { deadLetterView } from './dead-letter-view.js';
import type { FleetState } from './fleet-state.js';
import type { QueueMonitor } from './queue-monitor.js';
import { CSRF_HEADER, cookieValue, newSecret, sameSecret, TOKEN_COOKIE } from './security.js';
import { loadAssets } from './static-assets.js';
import { workflowView } from './workflow-view.js';

/** What the HTTP app serves from. */
export interface AppDeps {
  readonly broker: Broker;
  readonly backend: ResultBackend;
  readonly fleet: FleetState;
  readonly queues: QueueMonitor;
  readonly control?: DashboardControl | undefined;
  /** Required on every request when set. */
  readonly token?: string | undefined;
  /** Which Host header values to answer (the DNS-rebinding guard); any when undefined. */
  readonly allowHost?: ((host: string) => boolean) | undefined;
  /** How often the live stream pushes a snapshot. @default 1000 */
  readonly pushMs?: number;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** The dashboard's HTTP app: the page, its assets, the JSON API, the live stream and the actions. */
export function createApp(deps: AppDeps): Hono {
  const { page, files } = loadAssets();
  // Per process: the page carries it, and a page on another site can neither read it nor send it.
  const csrf = newSecret();
  const app = new Hono();

  app.use('*', async (c, next) => {
    if (deps.allowHost && !deps.allowHost(c.req.header('host') ?? '')) return c.text('unknown host', 421);
    if (deps.token) {
      const url = new URL(c.req.url);
      const offered = url.searchParams.get('token');
      if (c.req.method === 'GET' && url.pathname === '/' && sameSecret(offered, deps.token)) {
        // Trade the token in the URL for a cookie, and drop it from the address bar.
        c.header(
          'set-cookie',
          `${TOKEN_COOKIE}=${encodeURIComponent(deps.token)}; HttpOnly; SameSite=Strict; Path=/`,
        );
        return c.redirect('/', 303);
      }
      const bearer = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1];
      const cookie = cookieValue(c.req.header('cookie'), TOKEN_COOKIE);
      if (!sameSecret(bearer, deps.token) && !sameSecret(cookie, deps.token))
        return c.text('a token is required: open the dashboard with ?token=…', 401);
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      // Actions need the page's CSRF token in a header: a form or a cross-site fetch cannot send it.
      if (!sameSecret(c.req.header(CSRF_HEADER), csrf)) return c.json({ error: 'missing CSRF token' }, 403);
    }
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.header(k, v);
    return undefined;
  });

  app.get('/', (c) => {
    const nonce = newSecret(16);
    c.header(
      'content-security-policy',
      `default-src 'self'; script-src 'self' 'nonce-${nonce}'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
    );
    return c.html(page.replaceAll('{{nonce}}', nonce).replaceAll('{{csrf}}', csrf));
  });
  app.get('/static/:file', (c) => asset(c.req.param('file'), 'static'));
  app.get('/vendor/:file', (c) => asset(c.req.param('file'), 'vendor'));
  const asset = (file: string, dir: string) => {
    const found = files.get(`${dir}/${file}`);
    if (!found) return new Response('not found', { status: 404 });
    return new Response(found.body, { headers: { 'content-type': found.type } });
  };

  app.get('/api/snapshot', (c) => c.json({ ...deps.fleet.snapshot(), queues: deps.queues.views() }));
  app.get('/api/stream', (c) =>
    streamSSE(c, async (stream) => {
      let sent = -1;
      let quiet = 0;
      while (!stream.aborted && !stream.closed) {
        // Push on change, and at least every few seconds so ages and rates move.
        if (deps.fleet.version !== sent || ++quiet >= 5) {
          sent = deps.fleet.version;
          quiet = 0;
          const snapshot = { ...deps.fleet.snapshot(), queues: deps.queues.views() };
          await stream.writeSSE({ event: 'snapshot', data: JSON.stringify(snapshot) });
        }
        await stream.sleep(deps.pushMs ?? 1_000);
      }
    }),
  );

  app.get('/api/tasks', (c) => {
    const limit = Number(c.req.query('limit') ?? 100);
    const found = deps.fleet.search({
      q: c.req.query('q') ?? '',
      state: c.req.query('state') || undefined,
      limit: Number.isFinite(limit) ? limit : 100,
    });
    return c.json({ tasks: found });
  });
  app.get('/api/tasks/:id', async (c) => {
    const id = c.req.param('id');
    const [meta, task] = [await deps.backend.get(id), deps.fleet.task(id) ?? null];
    if (!meta && !task) return c.json({ error: `no task ${id} in the events or the result backend` }, 404);
    return c.json({ task, meta });
  });
  app.post('/api/tasks/:id/revoke', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { terminate?: unknown };
    const terminate = body.terminate === true;
    if (terminate && !deps.control)
      return c.json({ error: 'terminating a running task needs the control plane' }, 501);
    return c.json(await revokeTask(deps.backend, deps.control, c.req.param('id'), terminate));
  });

  app.get('/api/queues/:queue/dead-letters', async (c) => {
    if (!deps.broker.capabilities.deadLetter) return c.json({ supported: false, letters: [] });
    const letters = await deps.broker.readDeadLetters(c.req.param('queue'), 100);
    return c.json({
      supported: true,
      redrive: deps.broker.capabilities.redrive,
      letters: letters.map(deadLetterView),
    });
  });
  app.post('/api/queues/:queue/redrive', async (c) => {
    if (!deps.broker.capabilities.redrive)
      return c.json({ error: `${deps.broker.name} cannot redrive` }, 501);
    return c.json(await redriveQueue(deps.broker, deps.backend, c.req.param('queue')));
  });

  for (const action of ['pause', 'resume'] as const)
    app.post(`/api/queues/:queue/${action}`, async (c) => {
      const flow = flowStoreOf(deps.backend);
      if (!flow)
        return c.json({ error: `${deps.backend.name} keeps no flow state: queues cannot be paused` }, 501);
      const outcome = await pauseQueue(flow, c.req.param('queue'), action === 'pause');
      await deps.queues.poll();
      return c.json(outcome);
    });

  app.get('/api/workflows/:id', async (c) => {
    const id = c.req.param('id');
    if (!hasWorkflowStore(deps.backend))
      return c.json({ error: `${deps.backend.name} keeps no workflows` }, 501);
    const snapshot = await deps.backend.getWorkflow(id);
    if (!snapshot) return c.json({ error: `no workflow ${id} in the result backend (or it expired)` }, 404);
    return c.json(workflowView(id, snapshot));
  });

  app.onError((error, c) => c.json({ error: error instanceof Error ? error.message : String(error) }, 500));
  return app;
}

import { defineTask, MemoryBroker, MemoryResultBackend } from '@celeriac/core';
import { createClient } from '@celeriac/core/producer';
import { createWorker, implement } from '@celeriac/core/worker';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDashboard } from '../src/dashboard.js';
import { FleetState } from '../src/fleet-state.js';
import { QueueMonitor } from '../src/queue-monitor.js';
import { createApp } from '../src/server.js';

const TOKEN = 'a-token-of-sixteen-or-more';
const noEvents = { subscribe: async () => () => {}, close: async () => {} };

function app(options: { token?: string; allowHost?: (h: string) => boolean } = {}) {
  const broker = new MemoryBroker();
  const backend = new MemoryResultBackend();
  return {
    broker,
    backend,
    app: createApp({
      broker,
      backend,
      fleet: new FleetState(),
      queues: new QueueMonitor(broker, ['celery']),
      ...options,
    }),
  };
}

/** The page's CSRF token, as the browser reads it from the page. */
async function csrfOf(page: Response): Promise<string> {
  return /<meta name="csrf" content="([^"]+)"/.exec(await page.text())?.[1] ?? '';
}

describe('dashboard access', () => {
  it('refuses to bind beyond loopback without a token', async () => {
    const options = {
      broker: new MemoryBroker(),
      backend: new MemoryResultBackend(),
      events: noEvents,
      port: 0,
    };
    await expect(createDashboard({ ...options, host: '0.0.0.0' })).rejects.toThrow(/--token/);
    await expect(createDashboard({ ...options, host: '0.0.0.0', token: 'short' })).rejects.toThrow(
      /16 characters/,
    );
    const dashboard = await createDashboard({ ...options, host: '127.0.0.1' });
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    await dashboard.close();
  });

  it('takes actions only with the page’s CSRF token', async () => {
    const { app: server, backend } = app();
    const csrf = await csrfOf(await server.request('/'));
    expect(csrf.length).toBeGreaterThan(10);
    const revoke = (headers: Record<string, string>) =>
      server.request('/api/tasks/t-1/revoke', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: '{}',
      });
    // A form or a fetch from another site cannot carry the header.
    expect((await revoke({})).status).toBe(403);
    expect((await revoke({ 'x-celeriac-csrf': 'guessed' })).status).toBe(403);
    expect(await backend.get('t-1')).toBeNull();
    const ok = await revoke({ 'x-celeriac-csrf': csrf });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ stored: true, broadcast: false });
    expect((await backend.get('t-1'))?.status).toBe('REVOKED');
    // Terminate needs the control plane, which this dashboard was not given.
    const terminate = await server.request('/api/tasks/t-2/revoke', {
      method: 'POST',
      headers: { 'x-celeriac-csrf': csrf },
      body: '{"terminate":true}',
    });
    expect(terminate.status).toBe(501);
  });

  it('with a token, answers nothing without it, and trades ?token= for a cookie', async () => {
    const { app: server } = app({ token: TOKEN });
    expect((await server.request('/')).status).toBe(401);
    expect((await server.request('/api/snapshot')).status).toBe(401);
    expect((await server.request(`/?token=wrong-token-wrong-token`)).status).toBe(401);
    const visit = await server.request(`/?token=${TOKEN}`);
    expect(visit.status).toBe(303);
    const cookie = visit.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const session = { cookie: cookie.split(';')[0] as string };
    expect((await server.request('/api/snapshot', { headers: session })).status).toBe(200);
    expect(
      (await server.request('/api/snapshot', { headers: { authorization: `Bearer ${TOKEN}` } })).status,
    ).toBe(200);
  });

  it('answers only its own host names when bound to loopback (DNS rebinding)', async () => {
    const { app: server } = app({ allowHost: (h) => h === '127.0.0.1:5555' });
    expect(
      (await server.request('http://127.0.0.1:5555/api/snapshot', { headers: { host: '127.0.0.1:5555' } }))
        .status,
    ).toBe(200);
    expect(
      (
        await server.request('http://evil.example:5555/api/snapshot', {
          headers: { host: 'evil.example:5555' },
        })
      ).status,
    ).toBe(421);
  });

  it('serves the page with a content security policy and the front end’s modules', async () => {
    const { app: server } = app();
    const page = await server.request('/');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self' 'nonce-/);
    for (const path of ['/static/app.js', '/vendor/preact.js', '/vendor/hooks.js', '/vendor/htm.js']) {
      const response = await server.request(path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/javascript/);
    }
    expect((await server.request('/static/../package.json')).status).toBe(404);
  });

  it('a revoke from the page makes the worker skip the task', async () => {
    const { app: server, broker, backend } = app();
    const csrf = await csrfOf(await server.request('/'));
    const later = defineTask({ name: 'dash.later', input: z.object({}), output: z.string() });
    let ran = false;
    const worker = createWorker({
      broker,
      backend,
      tasks: [
        implement(later, () => {
          ran = true;
          return 'ran';
        }),
      ],
    });
    await worker.start();
    const client = createClient({ broker, backend });
    try {
      const handle = await client.enqueue(later, {}, { delayMs: 300 });
      const revoked = await server.request(`/api/tasks/${handle.id}/revoke`, {
        method: 'POST',
        headers: { 'x-celeriac-csrf': csrf },
        body: '{}',
      });
      expect(revoked.status).toBe(200);
      await expect(handle.result({ timeoutMs: 5_000 })).rejects.toThrow(/REVOKED|revoked/);
      expect(ran).toBe(false);
    } finally {
      await worker.stop();
    }
  });
});

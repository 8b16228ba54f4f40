import { createResultBackend } from '@celeriac/backend-redis';
import { createBroker, createEventReceiver, createEventTransport } from '@celeriac/broker-redis';
import { defineTask } from '@celeriac/core';
import { flowStoreOf } from '@celeriac/core/adapter';
import { createClient, workflow } from '@celeriac/core/producer';
import { createWorker, implement, sendCeleryEvents } from '@celeriac/core/worker';
import { requireService } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDashboard } from '../src/index.js';
import { requireChromium } from './chromium.js';

const redisUrl = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const browserPath = requireChromium();
const redisUp = await requireService('redis', redisUrl);

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
});

async function open(queue: string): Promise<{ page: Page; url: string; errors: string[] }> {
  const events = createEventReceiver(redisUrl);
  const broker = createBroker(redisUrl);
  const backend = createResultBackend(redisUrl);
  closers.push(
    () => events.close(),
    () => broker.close(),
    () => backend.close(),
  );
  const dashboard = await createDashboard({ broker, backend, events, queues: [queue], port: 0, pollMs: 200 });
  closers.push(() => dashboard.close());
  const browser: Browser = await chromium.launch({ executablePath: browserPath, args: ['--no-sandbox'] });
  closers.push(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, url: dashboard.url, errors };
}

/** Waits for the queues page's notice to read `text` (the action's reply has come). */
const noticeSays = (page: Page, text: string) =>
  waitFor(async () => (await page.getByTestId('queue-notice').textContent()) === text, {
    what: `the notice "${text}"`,
  });

const row = (page: Page, queue: string) => page.locator(`[data-testid=queue-row][data-queue="${queue}"]`);

describe.skipIf(!redisUp || !browserPath)('the dashboard in headless Chromium: queues and workflows', () => {
  it('pauses and resumes a queue fleet-wide, and bounds how long its oldest message has waited', async () => {
    const queue = uniqueName('dashpause');
    const ping = defineTask({ name: 'e2e.ping', input: z.object({ n: z.number() }), output: z.number() });
    const { page, url, errors } = await open(queue);
    const backend = createResultBackend(redisUrl);
    const client = createClient({ broker: createBroker(redisUrl), backend });
    closers.push(() => client.close());
    await page.goto(`${url}#/queues`);
    // Seen empty first, so the wait of what comes next has a bound.
    await waitFor(async () => (await row(page, queue).textContent())?.includes('consuming'), {
      what: 'the queue, empty and consuming',
    });
    await page.getByTestId(`pause-${queue}`).click();
    await noticeSays(page, `Paused ${queue} on every worker.`);
    expect(await flowStoreOf(backend)?.pausedQueues()).toContain(queue);
    await waitFor(
      async () => (await row(page, queue).getByTestId('queue-state').textContent()) === 'paused',
      {
        what: 'the queue shown paused',
      },
    );

    const handles = await Promise.all([1, 2, 3].map((n) => client.enqueue(ping, { n }, { queue })));
    await waitFor(
      async () => (await row(page, queue).getByTestId('oldest-waiting').textContent())?.startsWith('≤'),
      {
        what: 'a bound on the oldest wait',
      },
    );
    // A worker comes while the queue is paused; resuming lets it take the backlog.
    const worker = createWorker({
      broker: createBroker(redisUrl),
      backend: createResultBackend(redisUrl),
      tasks: [implement(ping, ({ n }) => n * 2)],
      queues: [queue],
    });
    await worker.start();
    closers.push(() => worker.stop({ graceMs: 1_000 }));
    await page.getByTestId(`resume-${queue}`).click();
    await noticeSays(page, `Resumed ${queue} on every worker.`);
    expect(await flowStoreOf(backend)?.pausedQueues()).not.toContain(queue);
    expect(await Promise.all(handles.map((h) => h.result({ timeoutMs: 20_000 })))).toEqual([2, 4, 6]);
    await waitFor(async () => (await row(page, queue).getByTestId('oldest-waiting').textContent()) === '—', {
      what: 'the queue drained',
      timeoutMs: 15_000,
    });
    expect(errors).toEqual([]);
  });

  it('draws a workflow: its nodes by depth, their states, a revoked node and what it stopped', async () => {
    const queue = uniqueName('dashwf');
    const add = defineTask({
      name: 'e2e.wf.add',
      input: z.object({ x: z.number(), y: z.number() }),
      output: z.number(),
      defaults: { queue },
    });
    const slow = defineTask({
      name: 'e2e.wf.slow',
      input: z.object({ ms: z.number() }),
      output: z.number(),
      defaults: { queue },
    });
    const { page, url, errors } = await open(queue);
    const backend = createResultBackend(redisUrl);
    const client = createClient({ broker: createBroker(redisUrl), backend });
    closers.push(() => client.close());
    const worker = createWorker({
      broker: createBroker(redisUrl),
      backend: createResultBackend(redisUrl),
      tasks: [
        implement(add, ({ x, y }) => x + y),
        implement(slow, async ({ ms }) => {
          await new Promise((r) => setTimeout(r, ms));
          return ms;
        }),
      ],
      queues: [queue],
    });
    await worker.start();
    closers.push(() => worker.stop({ graceMs: 1_000 }));
    // Its events tell the dashboard each task's root: a node's is its workflow.
    const transport = createEventTransport(redisUrl);
    const stopEvents = sendCeleryEvents(worker, transport, { freq: 1 });
    closers.push(async () => {
      await stopEvents();
      await transport.close();
    });
    const wf = workflow({
      first: { task: slow, input: { ms: 500 } },
      left: { task: add, after: ['first'], input: ({ first }) => ({ x: first, y: 1 }) },
      right: { task: add, after: ['first'], input: ({ first }) => ({ x: first, y: 2 }) },
      join: { task: add, after: ['left', 'right'], input: ({ left, right }) => ({ x: left, y: right }) },
    });
    const run = await wf.start(client, { store: backend, driverQueue: queue });
    await run.nodes.right.revoke();
    await expect(run.result({ timeoutMs: 20_000 })).rejects.toMatchObject({
      remote: expect.objectContaining({ excType: 'WorkflowFailed' }),
    });

    await page.goto(`${url}#/workflows`);
    await page.getByTestId('workflow-id').fill(run.id);
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByTestId('workflow').waitFor({ timeout: 15_000 });
    const nodes = page.getByTestId('workflow-node');
    await waitFor(async () => (await nodes.count()) === 4, { what: 'the four nodes' });
    const drawn = await nodes.evaluateAll((els) =>
      els.map((e) => [e.getAttribute('data-node'), e.getAttribute('data-state')]),
    );
    expect(Object.fromEntries(drawn)).toEqual({
      first: 'SUCCESS',
      left: 'SUCCESS',
      right: 'FAILURE',
      join: 'FAILURE',
    });
    // Columns by dependency depth: first, then left and right, then join.
    const columns = await page
      .locator('.dag-column')
      .evaluateAll((els) =>
        els.map((e) => [...e.querySelectorAll('[data-node]')].map((n) => n.getAttribute('data-node'))),
      );
    expect(columns).toEqual([['first'], ['left', 'right'], ['join']]);
    expect(await page.getByTestId('workflow').locator('h2').textContent()).toContain('FAILURE');
    // A node links to its task's page.
    await page.locator('[data-node=left]').getByRole('link', { name: 'task' }).click();
    await page.getByTestId('task-detail').waitFor();
    expect(page.url()).toContain(run.nodes.left.id);
    // …and the task's page links back to its workflow.
    await page.getByTestId('task-workflow').click();
    await page.getByTestId('workflow').waitFor();
    expect(page.url()).toContain(`#/workflows/${run.id}`);
    expect(errors).toEqual([]);
  });
});

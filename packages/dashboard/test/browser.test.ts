import { createResultBackend } from '@celeriac/backend-redis';
import { createBroker, createEventReceiver, createEventTransport } from '@celeriac/broker-redis';
import { defineTask } from '@celeriac/core';
import { createClient } from '@celeriac/core/producer';
import { createWorker, implement, sendCeleryEvents, type TaskImplementation } from '@celeriac/core/worker';
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
/** Where to save a screenshot of the finished run (for the README), if anywhere. */
const screenshotPath = process.env.CELERIAC_DASHBOARD_SCREENSHOT;

const add = defineTask({
  name: 'e2e.add',
  input: z.object({ x: z.number(), y: z.number() }),
  output: z.number(),
});
const nap = defineTask({ name: 'e2e.nap', input: z.object({ ms: z.number() }), output: z.null() });
/** Not implemented by the first worker: its message is dead-lettered until a worker that has it is deployed. */
const late = defineTask({ name: 'e2e.late', input: z.object({ n: z.number() }), output: z.number() });

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
});

/** A worker on the queue that sends Celery events, as `celeriac-worker --events` does. */
async function startWorker(queue: string, hostname: string, tasks: TaskImplementation[]) {
  const worker = createWorker({
    broker: createBroker(redisUrl),
    backend: createResultBackend(redisUrl),
    tasks,
    queues: [queue],
    hostname,
    concurrency: 4,
  });
  await worker.start();
  const transport = createEventTransport(redisUrl);
  const stopEvents = sendCeleryEvents(worker, transport, { freq: 1 });
  const stop = async () => {
    await stopEvents();
    await worker.stop({ graceMs: 2_000 });
    await transport.close();
  };
  closers.push(stop);
  return { stop };
}

/** The text of the first element matching `selector` that contains `text`, once there is one. */
async function rowWith(page: Page, selector: string, text: string): Promise<string> {
  const row = page.locator(selector, { hasText: text }).first();
  await row.waitFor({ timeout: 30_000 });
  return (await row.textContent()) ?? '';
}

describe.skipIf(!redisUp || !browserPath)('the dashboard in headless Chromium, on Redis', () => {
  it('shows a live worker and a finished task, and a redrive click re-runs a dead letter', async () => {
    const queue = uniqueName('dashboard');
    const events = createEventReceiver(redisUrl);
    const broker = createBroker(redisUrl);
    const backend = createResultBackend(redisUrl);
    closers.push(
      () => events.close(),
      () => broker.close(),
      () => backend.close(),
    );
    const dashboard = await createDashboard({ broker, backend, events, queues: [queue], port: 0 });
    closers.push(() => dashboard.close());
    const client = createClient({ broker: createBroker(redisUrl), backend: createResultBackend(redisUrl) });
    closers.push(() => client.close());

    const first = `dash-first-${process.pid}@e2e`;
    const firstWorker = await startWorker(queue, first, [
      implement(add, ({ x, y }) => x + y),
      implement(nap, async ({ ms }) => {
        await new Promise((r) => setTimeout(r, ms));
        return null;
      }),
    ]);

    const browser: Browser = await chromium.launch({ executablePath: browserPath, args: ['--no-sandbox'] });
    closers.push(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(dashboard.url);

    // The worker appears, alive, from its heartbeats.
    expect(await rowWith(page, '[data-testid=worker-row]', first)).toContain('online');

    // A finished task shows with its state and, on its page, its result.
    const handle = await client.enqueue(add, { x: 20, y: 22 }, { queue });
    expect(await handle.result({ timeoutMs: 10_000 })).toBe(42);
    if (screenshotPath) {
      // Some history for the charts: waves of naps of varied length, a few seconds apart.
      for (let wave = 0; wave < 6; wave++) {
        const naps = await Promise.all(
          Array.from({ length: 20 + wave * 8 }, (_, i) =>
            client.enqueue(nap, { ms: 5 + ((i * 37 + wave * 11) % 80) }, { queue }),
          ),
        );
        for (const h of naps) await h.result({ timeoutMs: 30_000 });
        await new Promise((r) => setTimeout(r, 4_000));
      }
    }
    await page.goto(`${dashboard.url}#/tasks`);
    await page.getByTestId('task-search').fill(handle.id);
    expect(await rowWith(page, '[data-testid=task-row]', handle.id)).toContain('SUCCESS');
    await page.getByRole('link', { name: handle.id }).click();
    await waitFor(async () => (await page.getByTestId('task-result').textContent()) === '42', {
      what: 'the result on the task page',
      timeoutMs: 15_000,
    });
    expect(await page.getByTestId('timeline').textContent()).toMatch(/RECEIVED.*SUCCESS/);

    // A task nobody implements yet is dead-lettered…
    const lost = await client.send(late.name, { kwargs: { n: 7 } }, { queue });
    await waitFor(async () => (await lost.status()).state === 'FAILURE', { what: 'the rejection' });
    // …the fix is deployed: the first worker goes, one that implements the task comes…
    await firstWorker.stop();
    const second = `dash-second-${process.pid}@e2e`;
    await startWorker(queue, second, [
      implement(add, ({ x, y }) => x + y),
      implement(late, ({ n }) => n * 6),
    ]);
    await page.goto(`${dashboard.url}#/dead-letters/${queue}`);
    expect(await rowWith(page, '[data-testid=dead-letter-row]', lost.id)).toContain('TASK_NOT_REGISTERED');

    // …and a click on Redrive runs the dead letter again, on the new worker.
    await page.getByTestId('redrive').click();
    expect(await page.getByTestId('redrive-notice').textContent()).toMatch(/^1 message put back/);
    expect(await client.handle(late, lost.id).result({ timeoutMs: 15_000 })).toBe(42);
    await page.getByTestId('no-dead-letters').waitFor();
    await page.goto(`${dashboard.url}#/tasks`);
    await page.getByTestId('task-search').fill(lost.id);
    await waitFor(async () => (await rowWith(page, '[data-testid=task-row]', lost.id)).includes(second), {
      what: 'the re-run on the second worker',
      timeoutMs: 15_000,
    });
    expect(await rowWith(page, '[data-testid=task-row]', lost.id)).toContain('SUCCESS');

    await page.goto(`${dashboard.url}#/workers`);
    expect(await rowWith(page, '[data-testid=worker-row]', second)).toContain('online');
    expect(await rowWith(page, '[data-testid=worker-row]', first)).toContain('offline');
    if (screenshotPath) await page.locator('#app').screenshot({ path: screenshotPath });
    expect(pageErrors).toEqual([]);
  });
});

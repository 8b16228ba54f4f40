import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { sleep, testMessage, uniqueName, waitFor } from '@celeriac/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { brokers, committedOffset, kafkaAdmin, kafkaUrl, testBroker } from './kafka-env.js';

const up = await requireService('kafka', kafkaUrl);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const worker = fileURLToPath(new URL('./fixtures/crash-worker.mjs', import.meta.url));

/** Starts the worker process; resolves with it and the deliveries it reports. */
function startWorker(
  queue: string,
  hold: number[],
): { child: ChildProcess; seen: { i: number; deliveryCount: number }[] } {
  const child = spawn(process.execPath, [worker], {
    cwd: packageDir,
    env: { ...process.env, BROKERS: brokers.join(','), QUEUE: queue, HOLD: hold.join(','), PREFETCH: '5' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const seen: { i: number; deliveryCount: number }[] = [];
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      const event = JSON.parse(line) as { i?: number; deliveryCount?: number };
      if (typeof event.i === 'number') seen.push({ i: event.i, deliveryCount: event.deliveryCount ?? 0 });
    }
  });
  return { child, seen };
}

describe.skipIf(!up)('a worker killed with SIGKILL', () => {
  beforeAll(() => {
    // The child runs the built package, as a deployed worker would.
    if (!existsSync(new URL('../../core/dist/index.js', import.meta.url))) {
      execFileSync('pnpm', ['--filter', '@celeriac/core', 'build'], { cwd: packageDir, stdio: 'inherit' });
    }
    execFileSync('pnpm', ['--filter', '@celeriac/broker-kafka', 'build'], {
      cwd: packageDir,
      stdio: 'inherit',
    });
  }, 120_000);

  it('re-delivers exactly its uncommitted records, counted as redeliveries', async () => {
    const queue = uniqueName('kill');
    const group = `celeriac.${queue}`;
    const broker = testBroker({ partitions: 1 });
    const admin = await kafkaAdmin();
    try {
      await broker.publishMany(
        Array.from({ length: 20 }, (_, i) => ({ queue, message: testMessage({ kwargs: { i } }) })),
      );
      // Records 5 and 12 stay unfinished; everything else is acknowledged.
      const { child, seen } = startWorker(queue, [5, 12]);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await waitFor(() => seen.length === 20, { timeoutMs: 20_000, what: 'the worker to receive all 20' });
      await waitFor(async () => (await committedOffset(admin, group, queue)) === 5, { what: 'commit at 5' });
      child.kill('SIGKILL');
      await exited;

      const redelivered: Delivery[] = [];
      const consumer = await broker.consume({
        queues: [queue],
        prefetch: 20,
        onDelivery: (d) => {
          redelivered.push(d);
          void d.ack();
        },
      });
      await waitFor(() => redelivered.length === 15, { timeoutMs: 20_000, what: '15 redeliveries' });
      await sleep(500);
      const indexes = redelivered.map((d) => (d.kind === 'task' ? (d.message.body[1].i as number) : -1));
      // From the first unfinished record on: the held ones and the finished ones behind them.
      expect(indexes).toEqual(Array.from({ length: 15 }, (_, k) => k + 5));
      // The dead worker's marker says every one of them was delivered before.
      expect(redelivered.every((d) => d.deliveryCount === 2)).toBe(true);
      await waitFor(async () => (await committedOffset(admin, group, queue)) === 20, {
        what: 'commit at 20',
      });
      await consumer.close();
    } finally {
      await admin.disconnect();
      await broker.close();
    }
  });
});

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { sleep, uniqueName, waitFor } from '@celeriac/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AMQP_URL, BrokerFactory, buildDist } from './support.js';

const up = await requireService('rabbitmq', AMQP_URL);
const child = fileURLToPath(new URL('./fixtures/hold-child.mjs', import.meta.url));

describe.skipIf(!up)('rabbitmq: a consumer process killed with SIGKILL mid-task', () => {
  const brokers = new BrokerFactory();
  let entry = '';
  beforeAll(async () => {
    entry = await buildDist();
  }, 120_000);
  afterAll(() => brokers.cleanup());

  it('has its unacknowledged message delivered again, exactly once more, with a higher count', async () => {
    const broker = brokers.create();
    const queue = uniqueName('crash');
    const message = createTaskMessage({ task: 'tasks.long' });
    await broker.publish({ queue, message });

    const proc = spawn(process.execPath, [child, entry, AMQP_URL, queue], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      proc.once('exit', (_code, signal) => resolve(signal)),
    );
    await waitFor(() => output.includes(`got ${message.headers.id} 1`), {
      timeoutMs: 15_000,
      what: 'the child to take the task',
    });
    proc.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const got: Delivery[] = [];
    await broker.consume({
      queues: [queue],
      prefetch: 5,
      onDelivery: (d) => {
        got.push(d);
        void d.ack();
      },
    });
    const d = await waitFor(() => got[0], { timeoutMs: 15_000, what: 'redelivery after the kill' });
    await sleep(500);
    expect(got).toHaveLength(1);
    expect(d.kind === 'task' && d.message.headers.id).toBe(message.headers.id);
    expect(d.deliveryCount).toBe(2);
  });
});

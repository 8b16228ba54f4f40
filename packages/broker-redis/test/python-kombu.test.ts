import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { requireCelery } from '@celeriac/test-services';
import { sleep, uniqueName, waitFor } from '@celeriac/testkit';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisBroker } from '../src/index.js';
import { startRedis } from './redis-server.js';

const run = promisify(execFile);
const python = requireCelery();

/** kombu's own restore of messages held past the visibility timeout, as a Python worker runs it. */
const RESTORE = `
import sys
from kombu import Connection
with Connection(sys.argv[1], transport_options={'visibility_timeout': 1}) as conn:
    conn.default_channel.qos.restore_visible(num=100)
`;

/** A Python producer: kombu publishes through Celery's send_task with a priority. */
const SEND = `
import sys
from celery import Celery
app = Celery(broker=sys.argv[1])
r = app.send_task('tasks.add', args=(2, 2), queue=sys.argv[2], priority=int(sys.argv[3]))
print(r.id)
`;

// Each test runs its own server: kombu's restore with a 1 s visibility timeout would otherwise
// restore what other suites hold on the shared Redis.
describe.skipIf(!python)('with Python kombu on the same Redis', () => {
  it("kombu's visibility restore gives back what a crashed Celeriac consumer held", async () => {
    const server = await startRedis();
    const url = `redis://127.0.0.1:${server.port}`;
    const queue = uniqueName('kombu');
    // Long consumer timeout: our own sweep must not be the one restoring it.
    const slow = { url, heartbeatIntervalMs: 200, consumerTimeoutMs: 60_000 };
    const doomed = new RedisBroker(slow);
    const got: Delivery[] = [];
    await doomed.consume({ queues: [queue], prefetch: 1, onDelivery: (d) => got.push(d) });
    const message = createTaskMessage({ task: 'tasks.held', priority: 5 });
    await doomed.publish({ queue, message });
    await waitFor(() => got[0], { what: 'delivery' });
    await doomed.destroy();
    await sleep(1500);
    await run(python, ['-c', RESTORE, url]);

    const redis = new Redis(url);
    // Core priority 5 is kombu 4, so kombu puts it back on step 3; it marks it redelivered.
    const [text] = await redis.lrange(`${queue}\x06\x163`, 0, -1);
    expect(JSON.parse(text ?? '{}').headers).toMatchObject({ id: message.headers.id, redelivered: true });
    expect(await redis.hlen('unacked')).toBe(0);
    redis.disconnect();

    const survivor = new RedisBroker(slow);
    const again: Delivery[] = [];
    await survivor.consume({ queues: [queue], prefetch: 1, onDelivery: (d) => again.push(d) });
    const d = await waitFor(() => again[0], { what: 'redelivery' });
    expect(d.kind === 'task' && d.message.headers.id).toBe(message.headers.id);
    expect(d.deliveryCount).toBe(2);
    await d.ack();
    await survivor.close();
    await server.stop();
  });

  it('consumes what Celery send_task publishes, in kombu priority order', async () => {
    const server = await startRedis();
    const url = `redis://127.0.0.1:${server.port}`;
    const queue = uniqueName('celery');
    const ids: string[] = [];
    for (const priority of [9, 0, 5]) {
      const { stdout } = await run(python, ['-c', SEND, url, queue, String(priority)]);
      ids.push(stdout.trim());
    }
    const broker = new RedisBroker({ url });
    const got: Delivery[] = [];
    await broker.consume({ queues: [queue], prefetch: 1, onDelivery: (d) => got.push(d) });
    const order: string[] = [];
    while (order.length < 3) {
      const d = await waitFor(() => got[order.length], { what: `delivery ${order.length + 1}` });
      expect(d.kind).toBe('task');
      if (d.kind === 'task') {
        order.push(d.message.headers.id);
        expect(d.message.body[0]).toEqual([2, 2]);
      }
      await d.ack();
    }
    // On Redis kombu serves 0 first: priority 0, then 5, then 9 — core priorities 9, 4, 0.
    expect(order).toEqual([ids[1], ids[2], ids[0]]);
    await broker.close();
    await server.stop();
  });
});

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { requireCelery, requireService } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { AMQP_URL, BrokerFactory } from './support.js';

const run = promisify(execFile);
const PYTHON = requireCelery();
const up = (await requireService('rabbitmq', AMQP_URL)) && PYTHON !== '';

/** Runs Python with Celery against the same RabbitMQ; the script prints one JSON line. */
async function python(script: string): Promise<Record<string, unknown>> {
  const { stdout } = await run(PYTHON, ['-c', script], {
    timeout: 60_000,
    env: { ...process.env, AMQP_URL },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

describe.skipIf(!up)('rabbitmq with real Python Celery on the same queues', () => {
  const brokers = new BrokerFactory({ maxPriority: 10 });
  afterAll(() => brokers.cleanup());

  it('declares queues Celery accepts as its own, and runs what Celery sends', async () => {
    const broker = brokers.create();
    const queue = uniqueName('celery');
    const got: Delivery[] = [];
    // We declare first (consume), then Celery declares the same queue with task_queue_max_priority=10.
    await broker.consume({ queues: [queue], prefetch: 5, onDelivery: (d) => got.push(d) });
    const sent = await python(`
import json, os
from celery import Celery
app = Celery(broker=os.environ['AMQP_URL'])
app.conf.task_queue_max_priority = 10
r = app.send_task('tasks.add', args=(2, 2), kwargs={'k': 'v'}, queue='${queue}', countdown=5, expires=60,
                  priority=7, time_limit=30, soft_time_limit=20)
print(json.dumps({'id': r.id}))
`);
    const d = await waitFor(() => got[0], { what: "Celery's message" });
    expect(d.kind).toBe('task');
    if (d.kind !== 'task') return;
    expect(d.message.headers).toMatchObject({
      lang: 'py',
      task: 'tasks.add',
      id: sent.id,
      timelimit: [30, 20],
    });
    expect(d.message.headers.eta).toMatch(/\+00:00$/);
    expect(d.message.properties).toMatchObject({ correlation_id: sent.id, priority: 7, delivery_mode: 2 });
    expect(d.message.body.slice(0, 2)).toEqual([[2, 2], { k: 'v' }]);
    await d.ack();
  });

  it('publishes messages a Celery consumer reads (through kombu, after declaring the queue itself)', async () => {
    const broker = brokers.create();
    const queue = uniqueName('celery');
    const message = createTaskMessage({ task: 'tasks.add', args: [1, 2], kwargs: { z: true }, priority: 3 });
    await broker.publish({ queue, message });
    const read = await python(`
import json, os
from celery import Celery
app = Celery(broker=os.environ['AMQP_URL'])
app.conf.task_queue_max_priority = 10
with app.connection_for_read() as conn:
    bound = app.amqp.queues['${queue}'](conn.default_channel)
    bound.declare()
    m = bound.get(no_ack=True)
    print(json.dumps({'task': m.headers['task'], 'id': m.headers['id'], 'timelimit': m.headers['timelimit'],
                      'body': m.decode(), 'content_type': m.content_type, 'priority': m.properties.get('priority'),
                      'delivery_info': {k: m.delivery_info[k] for k in ('exchange', 'routing_key')}}))
`);
    expect(read).toEqual({
      task: 'tasks.add',
      id: message.headers.id,
      timelimit: [null, null],
      body: [[1, 2], { z: true }, { callbacks: null, errbacks: null, chain: null, chord: null }],
      content_type: 'application/json',
      priority: 3,
      delivery_info: { exchange: '', routing_key: queue },
    });
  });
});

import { randomUUID } from 'node:crypto';
import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { listKey, type RedisBroker } from '../src/index.js';
import { brokerPool, redisUrl } from './helpers.js';
import { startRedis } from './redis-server.js';

const up = await requireService('redis', redisUrl);

/** The envelope of celery-protocol §1.5, as a Python producer stores it (priority 5 → list step 3). */
function pythonEnvelope(queue: string, id = randomUUID(), tag = randomUUID()) {
  const body = Buffer.from(
    '[[2, 2], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]',
  ).toString('base64');
  return {
    body,
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: {
      lang: 'py',
      task: 'tasks.add',
      id,
      shadow: null,
      eta: null,
      expires: null,
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [30, 20],
      root_id: id,
      parent_id: null,
      argsrepr: '(2, 2)',
      kwargsrepr: '{}',
      origin: 'gen14913@vm',
      ignore_result: false,
      replaced_task_nesting: 0,
      stamped_headers: null,
      stamps: {},
    },
    properties: {
      correlation_id: id,
      reply_to: 'c5ac7da1-2139-3536-bb42-35b7aa78118a',
      delivery_mode: 2,
      delivery_info: { exchange: '', routing_key: queue },
      priority: 5,
      body_encoding: 'base64',
      delivery_tag: tag,
    },
  };
}

describe.skipIf(!up)('kombu wire compatibility', () => {
  const redis = new Redis(redisUrl);
  const pool = brokerPool();
  const broker = () => pool.make();
  afterEach(() => pool.closeAll());
  afterAll(() => redis.disconnect());

  async function consumeOne(b: RedisBroker, queue: string): Promise<Delivery> {
    const got: Delivery[] = [];
    await b.consume({ queues: [queue], prefetch: 1, onDelivery: (d) => got.push(d) });
    return waitFor(() => got[0], { what: 'a delivery' });
  }

  it('consumes an envelope exactly as a Python producer stores it (§1.5)', async () => {
    const queue = uniqueName('py');
    const env = pythonEnvelope(queue);
    await redis.lpush(`${queue}\x06\x163`, JSON.stringify(env));
    const d = await consumeOne(broker(), queue);
    expect(d.kind).toBe('task');
    if (d.kind !== 'task') return;
    expect(d.message.headers.task).toBe('tasks.add');
    expect(d.message.headers.id).toBe(env.headers.id);
    expect(d.message.headers.timelimit).toEqual([30, 20]);
    expect(d.message.body).toEqual([
      [2, 2],
      {},
      { callbacks: null, errbacks: null, chain: null, chord: null },
    ]);
    // kombu priority 5 on Redis (0 first) is core priority 4 (9 first).
    expect(d.message.properties.priority).toBe(4);
    expect(d.message.properties.reply_to).toBe(env.properties.reply_to);

    // While held: kombu's own bookkeeping, so a Python worker could restore it.
    const tag = env.properties.delivery_tag;
    const unacked = JSON.parse((await redis.hget('unacked', tag)) ?? 'null') as [unknown, string, string];
    expect(unacked).toEqual([env, '', queue]);
    const score = Number(await redis.zscore('unacked_index', tag));
    expect(Math.abs(score - Date.now() / 1000)).toBeLessThan(60);

    await d.ack();
    expect(await redis.hexists('unacked', tag)).toBe(0);
    expect(await redis.zscore('unacked_index', tag)).toBeNull();
  });

  it('accepts the smallest message a Python worker accepts, with a raw body (§1.6)', async () => {
    const queue = uniqueName('py');
    const id = randomUUID();
    const raw = {
      body: '[[1], {"k": "v"}, null]',
      'content-encoding': 'utf-8',
      'content-type': 'application/json',
      headers: { lang: 'js', task: 'tasks.echo', id },
      properties: {
        correlation_id: id,
        reply_to: '',
        delivery_mode: 2,
        delivery_info: { exchange: '', routing_key: queue },
        priority: 0,
        delivery_tag: randomUUID(),
      },
    };
    await redis.lpush(queue, JSON.stringify(raw));
    const d = await consumeOne(broker(), queue);
    expect(d.kind === 'task' && d.message.body).toEqual([[1], { k: 'v' }, null]);
    expect(d.kind === 'task' && d.message.properties.priority).toBe(9);
    await d.ack();
  });

  it('finds the delivery tag in any key order, and keeps two envelopes with one tag apart', async () => {
    const queue = uniqueName('py');
    const tag = randomUUID();
    const env = pythonEnvelope(queue, randomUUID(), tag);
    // Properties first, and a header that looks like a tag last: only a real decode finds the tag.
    const reordered = {
      properties: env.properties,
      body: env.body,
      headers: { ...env.headers, delivery_tag: 'x' },
    };
    await redis.lpush(`${queue}\x06\x163`, JSON.stringify(reordered), JSON.stringify(env));
    const b = broker();
    const got: Delivery[] = [];
    await b.consume({ queues: [queue], prefetch: 2, onDelivery: (d) => got.push(d) });
    await waitFor(() => got.length === 2, { what: 'both deliveries' });
    expect(got.map((d) => d.kind)).toEqual(['task', 'task']);
    // The first is held under its tag, kombu-style; the duplicate tag is kept apart, not overwritten.
    expect(await redis.hexists('unacked', tag)).toBe(1);
    expect(await redis.hexists('unacked', 'x')).toBe(0);
    expect(await redis.hlen('_celeriac.unacked_raw')).toBeGreaterThan(0);
    await Promise.all(got.map((d) => d.ack()));
    expect(await redis.hexists('unacked', tag)).toBe(0);
    expect(await redis.zscore('unacked_index', tag)).toBeNull();
    expect(await b.depth(queue)).toBe(0);
  });

  it('publishes an envelope with every field a Python worker requires', async () => {
    const queue = uniqueName('ts');
    const message = createTaskMessage({ task: 'tasks.add', args: [2, 2], priority: 5, timeLimitMs: 30_000 });
    await broker().publish({ queue, message });
    // Core priority 5 → kombu priority 4 → list step 3.
    const [text] = await redis.lrange(listKey(false, queue, 3), 0, -1);
    const env = JSON.parse(text ?? '{}');
    expect(env['content-type']).toBe('application/json');
    expect(env['content-encoding']).toBe('utf-8');
    const body = JSON.parse(Buffer.from(env.body, 'base64').toString('utf8'));
    expect(body).toEqual([[2, 2], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]);
    for (const header of [
      'lang',
      'task',
      'id',
      'shadow',
      'eta',
      'expires',
      'group',
      'group_index',
      'retries',
      'timelimit',
      'root_id',
      'parent_id',
      'argsrepr',
      'kwargsrepr',
      'origin',
      'ignore_result',
      'replaced_task_nesting',
      'stamped_headers',
      'stamps',
    ]) {
      expect(env.headers).toHaveProperty(header);
    }
    expect(env.headers.timelimit).toEqual([30, null]);
    expect(env.properties).toMatchObject({
      correlation_id: message.headers.id,
      reply_to: '',
      delivery_mode: 2,
      priority: 4,
      body_encoding: 'base64',
      delivery_info: { exchange: '', routing_key: queue },
    });
    expect(env.properties.delivery_tag).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    await redis.del(listKey(false, queue, 3));
  });

  it('puts each core priority on the list kombu would use for its wire value', async () => {
    const queue = uniqueName('pri');
    const b = broker();
    const expected: Record<number, 0 | 3 | 6 | 9> = { 9: 0, 7: 0, 6: 3, 4: 3, 3: 6, 1: 6, 0: 9 };
    for (const [p, step] of Object.entries(expected)) {
      const message = createTaskMessage({ task: 't', priority: Number(p) });
      await b.publish({ queue, message });
      const [text] = await redis.lrange(listKey(false, queue, step), 0, 0);
      expect(JSON.parse(text ?? '{}').properties.priority).toBe(9 - Number(p));
    }
    expect(await b.purge(queue)).toBe(7);
  });

  it('puts a requeued envelope back byte for byte, even with braces and quotes in strings', async () => {
    const queue = uniqueName('bytes');
    const b = broker();
    const tricky = ['}{"\\', '{"nested": "]"}', 'é\u0000'];
    const message = createTaskMessage({ task: 'tasks.tricky', args: tricky, priority: 9 });
    await b.publish({ queue, message });
    const [before] = await redis.lrange(queue, 0, -1);
    const got: Delivery[] = [];
    await b.consume({ queues: [queue], prefetch: 1, onDelivery: (d) => got.push(d) });
    const first = await waitFor(() => got[0], { what: 'delivery' });
    await first.requeue({ delayMs: 60_000 });
    const [member] = await redis.zrange(`_celeriac.delayed.${queue}`, 0, 0);
    expect(member?.split('|').slice(2).join('|')).toBe(before);
    expect(first.kind === 'task' && first.message.body[0]).toEqual(tricky);
    expect(await b.purge(queue)).toBe(1);
  });

  it('restores a message a vanished Python worker held past the visibility timeout', async () => {
    const queue = uniqueName('vis');
    const env = pythonEnvelope(queue);
    const tag = env.properties.delivery_tag;
    // As kombu's QoS.append writes it, taken 2 hours ago by a worker that is gone.
    await redis
      .multi()
      .zadd('unacked_index', Date.now() / 1000 - 7200, tag)
      .hset('unacked', tag, JSON.stringify([env, '', queue]))
      .exec();
    const d = await consumeOne(broker(), queue);
    expect(d.kind === 'task' && d.message.headers.id).toBe(env.headers.id);
    await d.ack();
    expect(await redis.hexists('unacked', tag)).toBe(0);
  });

  it('does not let the visibility timeout take a message from a live consumer', async () => {
    // Its own server: a 1 s visibility timeout on the shared one would restore other suites' messages.
    const server = await startRedis();
    const url = `redis://127.0.0.1:${server.port}`;
    const queue = uniqueName('live');
    const holder = pool.make({ url, visibilityTimeoutSeconds: 1 });
    const other = pool.make({ url, visibilityTimeoutSeconds: 1 });
    await holder.publish({ queue, message: createTaskMessage({ task: 't' }) });
    const d = await consumeOne(holder, queue);
    const stolen: Delivery[] = [];
    await other.consume({ queues: [queue], prefetch: 1, onDelivery: (x) => stolen.push(x) });
    // Three visibility timeouts pass while the holder keeps it (its heartbeat refreshes the index).
    await new Promise((r) => setTimeout(r, 3200));
    expect(stolen).toHaveLength(0);
    await d.ack();
    await Promise.allSettled([holder.close(), other.close()]);
    await server.stop();
  });
});

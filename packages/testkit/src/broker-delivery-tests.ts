import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { type BrokerSuiteContext, idOf, testMessage } from './broker-context.js';
import { sleep, uniqueName, waitFor } from './wait-for.js';

/** Round trip, settlement, redelivery, prefetch and fairness: what every broker must do. */
export function deliveryTests(ctx: BrokerSuiteContext): void {
  const caps = ctx.options.capabilities;

  it('round-trips a message with its headers, args and kwargs intact', async () => {
    const broker = await ctx.broker();
    const queue = uniqueName();
    const message = testMessage({
      task: 'testkit.echo',
      args: [1, 'two'],
      kwargs: { x: 2, nested: { y: [true, null] } },
    });
    const rec = await ctx.record(broker, queue);
    await broker.publish({ queue, message });
    const d = await waitFor(() => rec.deliveries[0], { timeoutMs: ctx.deliveryMs, what: 'delivery' });
    expect(d.kind).toBe('task');
    if (d.kind !== 'task') return;
    expect(d.queue).toBe(queue);
    expect(d.deliveryCount).toBe(1);
    expect(d.message.headers.id).toBe(message.headers.id);
    expect(d.message.headers.task).toBe('testkit.echo');
    expect(d.message.headers.root_id).toBe(message.headers.id);
    expect(d.message.body[0]).toEqual([1, 'two']);
    expect(d.message.body[1]).toEqual({ x: 2, nested: { y: [true, null] } });
    await d.ack();
  });

  it('does not deliver an acknowledged message again', async () => {
    const broker = await ctx.broker();
    const queue = uniqueName();
    const rec = await ctx.record(broker, queue);
    const first = testMessage();
    await broker.publish({ queue, message: first });
    const d = await waitFor(() => rec.deliveries[0], { timeoutMs: ctx.deliveryMs, what: 'delivery' });
    await d.ack();
    await rec.consumer.close();
    // A marker published after the ack must be the next (and only) thing a new consumer sees.
    const marker = testMessage();
    await broker.publish({ queue, message: marker });
    const rec2 = await ctx.record(broker, queue);
    const next = await waitFor(() => rec2.deliveries[0], { timeoutMs: ctx.deliveryMs, what: 'marker' });
    await sleep(300);
    expect(rec2.deliveries.map(idOf)).toEqual([marker.headers.id]);
    await next.ack();
  });

  it('redelivers a requeued message with a higher delivery count', async () => {
    const broker = await ctx.broker();
    const queue = uniqueName();
    const rec = await ctx.record(broker, queue);
    const message = testMessage();
    await broker.publish({ queue, message });
    const d1 = await waitFor(() => rec.deliveries[0], { timeoutMs: ctx.deliveryMs, what: 'first delivery' });
    await d1.requeue();
    const d2 = await waitFor(() => rec.deliveries[1], { timeoutMs: ctx.deliveryMs, what: 'redelivery' });
    expect(idOf(d2)).toBe(message.headers.id);
    expect(d2.deliveryCount).toBeGreaterThan(d1.deliveryCount);
    await d2.ack();
  });

  it('returns unsettled deliveries to the queue when a consumer closes', async () => {
    const broker = await ctx.broker();
    const queue = uniqueName();
    const messages = [testMessage(), testMessage()];
    await broker.publishMany(messages.map((message) => ({ queue, message })));
    const rec = await ctx.record(broker, queue, 2);
    await waitFor(() => rec.deliveries.length === 2, { timeoutMs: ctx.deliveryMs, what: 'two deliveries' });
    await rec.consumer.close();
    const rec2 = await ctx.record(broker, queue, 10);
    await waitFor(() => rec2.deliveries.length === 2, { timeoutMs: ctx.deliveryMs, what: 'redeliveries' });
    expect(rec2.deliveries.map(idOf).sort()).toEqual(messages.map((m) => m.headers.id).sort());
    await Promise.all(rec2.deliveries.map((d) => d.ack()));
  });

  it.skipIf(!caps.redeliveryOnConsumerDeath)('redelivers what a crashed consumer held', async () => {
    const producer = await ctx.broker();
    const doomed = await ctx.broker();
    const queue = uniqueName();
    const message = testMessage();
    const rec = await ctx.record(doomed, queue, 1);
    await producer.publish({ queue, message });
    await waitFor(() => rec.deliveries[0], {
      timeoutMs: ctx.deliveryMs,
      what: 'delivery to doomed consumer',
    });
    await (ctx.options.simulateCrash ?? ((b) => b.close()))(doomed);
    const survivor = await ctx.broker();
    const rec2 = await ctx.record(survivor, queue, 1);
    const d = await waitFor(() => rec2.deliveries[0], {
      timeoutMs: (ctx.options.timing?.redeliveryAfterCrashMs ?? 10_000) + ctx.deliveryMs,
      what: 'redelivery after crash',
    });
    expect(idOf(d)).toBe(message.headers.id);
    await d.ack();
  });

  it('never holds more unsettled deliveries than the prefetch allows', async () => {
    const broker = await ctx.broker();
    const queue = uniqueName();
    await broker.publishMany(Array.from({ length: 10 }, () => ({ queue, message: testMessage() })));
    const rec = await ctx.record(broker, queue, 3);
    await waitFor(() => rec.deliveries.length === 3, { timeoutMs: ctx.deliveryMs, what: 'three deliveries' });
    await sleep(300);
    expect(rec.deliveries).toHaveLength(3);
    await rec.deliveries[0]?.ack();
    await waitFor(() => rec.deliveries.length === 4, {
      timeoutMs: ctx.deliveryMs,
      what: 'a fourth delivery',
    });
    await sleep(200);
    expect(rec.deliveries).toHaveLength(4);
    rec.consumer.setPrefetch(6);
    await waitFor(() => rec.deliveries.length === 7, {
      timeoutMs: ctx.deliveryMs,
      what: 'prefetch raised to 6',
    });
    await Promise.all(rec.deliveries.map((d) => d.ack()));
  });

  it('spreads work across consumers by free slots', async () => {
    const producer = await ctx.broker();
    const queue = uniqueName();
    const counts = [0, 0];
    const acks: Promise<void>[] = [];
    const consumers = await Promise.all(
      [0, 1].map(async (i) => {
        const b = await ctx.broker();
        return b.consume({
          queues: [queue],
          prefetch: 1,
          onDelivery: (d) => {
            counts[i] = (counts[i] ?? 0) + 1;
            // Slow settle: a busy consumer must not hoard what the other could take.
            setTimeout(() => acks.push(d.ack()), 20);
          },
        });
      }),
    );
    await sleep(200);
    await producer.publishMany(Array.from({ length: 40 }, () => ({ queue, message: testMessage() })));
    await waitFor(() => (counts[0] ?? 0) + (counts[1] ?? 0) === 40, {
      timeoutMs: 30_000,
      what: 'all 40 processed',
    });
    // Settle everything before closing, so no acknowledgement races the shutdown.
    await waitFor(() => acks.length === 40, { what: 'all 40 acknowledged' });
    await Promise.all(acks);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(8);
    await Promise.all(consumers.map((c) => c.close()));
  });

  it('publishes in bulk and delivers every message once', async () => {
    const broker = await ctx.broker();
    const queue = uniqueName();
    const messages = Array.from({ length: 500 }, (_, i) => testMessage({ kwargs: { i } }));
    await broker.publishMany(messages.map((message) => ({ queue, message })));
    const seen = new Map<string, number>();
    const acks: Promise<void>[] = [];
    const consumer = await broker.consume({
      queues: [queue],
      prefetch: 50,
      onDelivery: (d) => {
        seen.set(idOf(d), (seen.get(idOf(d)) ?? 0) + 1);
        acks.push(d.ack());
      },
    });
    await waitFor(() => seen.size === 500, { timeoutMs: 30_000, what: '500 deliveries' });
    await Promise.all(acks);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(seen.keys())).toEqual(new Set(messages.map((m) => m.headers.id)));
    await consumer.close();
  });

  it('consumes several queues with one consumer', async () => {
    const broker = await ctx.broker();
    const [a, b] = [uniqueName('a'), uniqueName('b')];
    const rec = await ctx.record(broker, [a, b]);
    const ma = testMessage({ id: randomUUID() });
    const mb = testMessage({ id: randomUUID() });
    await broker.publish({ queue: a, message: ma });
    await broker.publish({ queue: b, message: mb });
    await waitFor(() => rec.deliveries.length === 2, { timeoutMs: ctx.deliveryMs, what: 'both queues' });
    const byQueue = Object.fromEntries(rec.deliveries.map((d) => [d.queue, idOf(d)]));
    expect(byQueue).toEqual({ [a]: ma.headers.id, [b]: mb.headers.id });
    await Promise.all(rec.deliveries.map((d) => d.ack()));
  });
}
